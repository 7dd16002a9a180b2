# Reference values for the validation report's CFA: lavaan on the golden study's own exports.
#
# Run in this folder after make_golden.py:  Rscript lavaan_golden.R
# Needs R >= 4.0 with lavaan (0.6-14 made the committed values) and jsonlite.
# model.R is the platform's lavaan export of the study: it reads wide.csv, leaves out
# excluded sessions and reverse-keys the reverse-keyed items. The report's structural
# validity analyses one wave (the first, baseline) on the complete rows with the items as
# ordered categories, WLSMV (lavaan's default for ordered = TRUE: DWLS, robust SEs,
# scaled-shifted test, delta parameterisation); when WLSMV cannot be used it falls back to
# MLR, so both estimators are written for both models, and the scaled (Satorra-Bentler 2001)
# difference test of the two MLR fits that the report's comparison then uses.
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})
source("model.R")
baseline <- data$wave == "baseline"
items <- items_iemdp_1_1_0[baseline, ]
items <- items[complete.cases(items), ]  # listwise, as the report (and lavaan's default)

measures <- list(
  WLSMV = c("npar", "chisq", "df", "pvalue", "chisq.scaled", "df.scaled", "pvalue.scaled",
            "chisq.scaling.factor", "chisq.shift.parameter", "baseline.chisq",
            "baseline.chisq.scaled", "cfi", "tli", "cfi.scaled", "tli.scaled", "rmsea",
            "rmsea.scaled", "cfi.robust", "tli.robust", "rmsea.robust",
            "rmsea.ci.lower.robust", "rmsea.ci.upper.robust", "srmr", "ntotal"),
  MLR = c("npar", "chisq", "df", "pvalue", "chisq.scaled", "chisq.scaling.factor", "cfi",
          "tli", "cfi.scaled", "tli.scaled", "cfi.robust", "tli.robust", "rmsea",
          "rmsea.scaled", "rmsea.robust", "srmr", "aic", "bic", "ntotal")
)

fitted <- function(model, estimator) {
  started <- proc.time()[["elapsed"]]
  fit <- if (estimator == "WLSMV") {
    cfa(model, data = items, ordered = TRUE, estimator = "WLSMV")
  } else {
    # nlminb's default relative tolerance stops this 420-parameter model short of the
    # optimum in its flattest directions (see git history); 1e-11 reaches it
    cfa(model, data = items, estimator = "MLR",
        control = list(rel.tol = 1e-11, iter.max = 10000, eval.max = 20000))
  }
  std <- standardizedSolution(fit)
  loadings <- std[std$op == "=~", c("lhs", "rhs", "est.std", "se")]
  list(
    fit = fit,
    out = list(
      converged = lavInspect(fit, "converged"),
      seconds = proc.time()[["elapsed"]] - started,
      call = if (estimator == "WLSMV") {
        "cfa(model, data = items, ordered = TRUE, estimator = 'WLSMV')"
      } else {
        "cfa(model, data = items, estimator = 'MLR', control = list(rel.tol = 1e-11))"
      },
      fit_measures = as.list(fitMeasures(fit, measures[[estimator]])),
      loadings = lapply(seq_len(nrow(loadings)), function(i) list(
        factor = loadings$lhs[i], indicator = loadings$rhs[i],
        std_all = loadings$est.std[i], se_std_all = loadings$se[i]
      ))
    )
  )
}

models <- list(first_order = model_iemdp_1_1_0_first_order,
               second_order = model_iemdp_1_1_0_second_order)
expected <- list(
  meta = list(
    lavaan = as.character(packageVersion("lavaan")),
    R = R.version.string,
    data = "wide.csv (make_golden.py: IEM-DP 1.1.0, 400 participants, one wave, seed 2027)",
    rows = "baseline wave, excluded sessions left out, complete cases"
  ),
  lavaan = as.character(packageVersion("lavaan")),
  rows = nrow(items)
)
mlr <- list()
for (key in names(models)) {
  expected[[key]] <- list()
  for (estimator in c("MLR", "WLSMV")) {
    result <- fitted(models[[key]], estimator)
    expected[[key]][[estimator]] <- result$out
    if (estimator == "MLR") mlr[[key]] <- result$fit
    cat(key, estimator, "done\n")
  }
}
lrt <- lavTestLRT(mlr$first_order, mlr$second_order, method = "satorra.bentler.2001")
expected$comparison_mlr <- list(
  method = "satorra.bentler.2001",
  chisq_diff = lrt[["Chisq diff"]][2],
  df_diff = lrt[["Df diff"]][2],
  pvalue = lrt[["Pr(>Chisq)"]][2]
)
writeLines(toJSON(expected, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "lavaan_expected.json.new")
file.rename("lavaan_expected.json.new", "lavaan_expected.json")
cat("wrote lavaan_expected.json\n")
