# Reference values for the validation report's CFA: lavaan on the golden study's own exports.
#
# Run in this folder after make_golden.py:  Rscript lavaan_golden.R
# Needs R >= 4.0 with lavaan (0.6-14 made the committed values) and jsonlite.
# model.R is the platform's lavaan export of the study: it reads wide.csv, leaves out
# excluded sessions and reverse-keys the reverse-keyed items. The report's structural
# validity analyses one wave (the first, baseline) with listwise deletion and ML, which is
# lavaan's default for cfa(); so do we here.
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})
source("model.R")
baseline <- data$wave == "baseline"
items <- items_iemdp_1_1_0[baseline, ]

measures <- c("npar", "chisq", "df", "pvalue", "baseline.chisq", "baseline.df", "cfi", "tli",
              "logl", "unrestricted.logl", "aic", "bic", "bic2", "rmsea", "rmsea.ci.lower",
              "rmsea.ci.upper", "rmsea.pvalue", "srmr", "ntotal")

# nlminb's default relative tolerance (1e-10 on the objective) stops this 420-parameter
# model with loadings up to 2.4e-5 from the optimum in its flattest directions (its
# log-likelihood 3e-7 below ours). At 1e-11 lavaan's log-likelihood rises to within 2e-8 of
# ours and every standardised loading to within 4e-6; 1e-12 makes nlminb report false
# convergence.
fitted <- function(model) {
  fit <- cfa(model, data = items, estimator = "ML",
             control = list(rel.tol = 1e-11, iter.max = 10000, eval.max = 20000))
  std <- standardizedSolution(fit)
  loadings <- std[std$op == "=~", c("lhs", "rhs", "est.std", "se")]
  list(
    converged = lavInspect(fit, "converged"),
    fit_measures = as.list(fitMeasures(fit, measures)),
    loadings = lapply(seq_len(nrow(loadings)), function(i) list(
      factor = loadings$lhs[i], indicator = loadings$rhs[i],
      std_all = loadings$est.std[i], se_std_all = loadings$se[i]
    ))
  )
}

expected <- list(
  lavaan = as.character(packageVersion("lavaan")),
  rows = sum(complete.cases(items)),
  first_order = fitted(model_iemdp_1_1_0_first_order),
  second_order = fitted(model_iemdp_1_1_0_second_order)
)
writeLines(toJSON(expected, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "lavaan_expected.json")
cat("wrote lavaan_expected.json\n")
