# Reference values for the validation report's invariance across waves: lavaan and semTools
# on one construct (TA, therapeutic alliance: TA_BOND, TA_GOAL, TA_TASK, three items each)
# at the first two waves of the tests' simulated study (400 participants x 3 waves, seed 7).
#
# Run in this folder:  Rscript longitudinal_lavaan.R
# Needs R >= 4.0 with lavaan (0.6-14 made the committed values), semTools (0.5-6) and jsonlite.
#
# longitudinal_TA.csv is what survey.services.validation.invariance.wide_rows gives for the
# construct's items on the simulated_data fixture (tests/survey/validation/conftest.py):
# the reverse-keyed answers of the participants who answered every TA item at both
# 'baseline' (columns <item>__t1) and 'week-4' (<item>__t2). The test checks that the
# section still builds exactly this frame, so a change of the simulation shows up there;
# remake the file then with
#   wide_rows(data.instruments[0], TA items in instrument order, ("baseline", "week-4"))
#     .astype(int).to_csv(path, index_label="participant")
#
# The models are written here independently of the platform: semTools::measEq.syntax builds
# the longitudinal ladder from the configural model with longFacNames (one factor per
# subconstruct per wave), auto = "all" (each item's residuals correlated across the waves)
# and long.equal (loadings; + intercepts; + residuals), identified by unit loadings
# (ID.fac = "UL": marker loading 1 and marker intercept 0, latent means free). The platform
# fixes the first wave's latent means at 0 and holds the marker intercepts equal instead,
# an equivalent parameterisation: the same fit, and the same latent mean differences
# (later wave minus first), which we define here with ':='.
suppressPackageStartupMessages({
  library(lavaan)
  library(semTools)
  library(jsonlite)
})
wide <- read.csv("longitudinal_TA.csv")
subconstructs <- c("TA_BOND", "TA_GOAL", "TA_TASK")
indicators <- function(sub, t) sprintf("%s_%d__t%d", sub, 1:3, t)
configural <- paste(unlist(lapply(1:2, function(t) vapply(subconstructs, function(sub)
  sprintf("%s__t%d =~ %s", sub, t, paste(indicators(sub, t), collapse = " + ")),
  character(1)))), collapse = "\n")
long_factors <- setNames(lapply(subconstructs, function(sub) paste0(sub, "__t", 1:2)),
                         subconstructs)
equal <- list(
  configural = "",
  metric = "loadings",
  scalar = c("loadings", "intercepts"),
  strict = c("loadings", "intercepts", "residuals")
)
measures <- c("npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower",
              "rmsea.ci.upper", "srmr", "aic", "bic", "ntotal")

level <- function(name) {
  syntax <- measEq.syntax(configural.model = configural, data = wide, ID.fac = "UL",
                          longFacNames = long_factors, long.equal = equal[[name]],
                          auto = "all")
  model <- as.character(syntax)
  differences <- character(0)
  if ("intercepts" %in% equal[[name]]) {
    # alpha.k are the latent means in measEq.syntax's order: wave 1 factors, then wave 2
    k <- length(subconstructs)
    differences <- sprintf("%s__t2_minus_t1 := alpha.%d - alpha.%d", subconstructs,
                           seq_len(k) + k, seq_len(k))
    model <- paste(c(model, differences), collapse = "\n")
  }
  fit <- cfa(model, data = wide, meanstructure = TRUE,
             control = list(iter.max = 10000, eval.max = 20000))
  out <- list(
    converged = lavInspect(fit, "converged"),
    fit_measures = as.list(fitMeasures(fit, measures))
  )
  if (length(differences)) {
    est <- parameterEstimates(fit)
    defined <- est[est$op == ":=", ]
    out$latent_mean_differences <- lapply(seq_len(nrow(defined)), function(i) list(
      factor = sub("_minus_t1$", "", defined$lhs[i]), est = defined$est[i], se = defined$se[i]
    ))
  }
  out
}

expected <- list(
  r = paste(R.version$major, R.version$minor, sep = "."),
  lavaan = as.character(packageVersion("lavaan")),
  semTools = as.character(packageVersion("semTools")),
  construct = "TA",
  from = "baseline",
  to = "week-4",
  rows = nrow(wide),
  levels = lapply(setNames(names(equal), names(equal)), level)
)
writeLines(toJSON(expected, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "longitudinal_lavaan.json")
cat("wrote longitudinal_lavaan.json\n")
