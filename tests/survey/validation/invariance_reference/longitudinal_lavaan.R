# Reference values for the validation report's invariance across waves: lavaan and semTools
# on one construct (TA, therapeutic alliance: TA_BOND, TA_GOAL, TA_TASK, three items each)
# over all three waves of the tests' simulated study (400 participants x 3 waves, seed 7),
# by full-information ML (missing = "ml") with MLR, as the report fits it: a participant who
# dropped out keeps the waves answered.
#
# Run in this folder:  Rscript longitudinal_lavaan.R
# Needs R >= 4.0 with lavaan (0.6-14 made the committed values), semTools (0.5-6) and jsonlite.
#
# longitudinal_TA.csv is what survey.services.validation.invariance.wide_rows gives for the
# construct's items on the simulated_data fixture (tests/survey/validation/conftest.py):
# the reverse-keyed answers of the participants who answered at least one TA item at some
# wave, at 'baseline' (columns <item>__t1), 'week-4' (__t2) and 'week-8' (__t3), empty where
# unanswered. The test checks that the section still builds exactly this frame, so a change
# of the simulation shows up there; remake the file then with
#   wide_rows(data.instruments[0], TA items in instrument order, data.waves)
#     .astype("Int64").to_csv(path, index_label="participant")
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
waves <- 1:3
configural <- paste(unlist(lapply(waves, function(t) vapply(subconstructs, function(sub)
  sprintf("%s__t%d =~ %s", sub, t, paste(indicators(sub, t), collapse = " + ")),
  character(1)))), collapse = "\n")
long_factors <- setNames(lapply(subconstructs, function(sub) paste0(sub, "__t", waves)),
                         subconstructs)
equal <- list(
  configural = "",
  metric = "loadings",
  scalar = c("loadings", "intercepts"),
  strict = c("loadings", "intercepts", "residuals")
)
measures <- c("npar", "chisq", "df", "pvalue", "chisq.scaled", "cfi", "tli", "rmsea",
              "rmsea.ci.lower", "rmsea.ci.upper", "cfi.robust", "tli.robust",
              "rmsea.robust", "srmr", "aic", "bic", "ntotal")
fits <- list()

level <- function(name) {
  syntax <- measEq.syntax(configural.model = configural, data = wide, ID.fac = "UL",
                          longFacNames = long_factors, long.equal = equal[[name]],
                          auto = "all")
  model <- as.character(syntax)
  differences <- character(0)
  if ("intercepts" %in% equal[[name]]) {
    # alpha.k are the latent means in measEq.syntax's order: wave 1 factors, then wave 2,
    # then wave 3
    k <- length(subconstructs)
    differences <- unlist(lapply(waves[-1], function(t) sprintf(
      "%s__t%d_minus_t1 := alpha.%d - alpha.%d", subconstructs, t,
      seq_len(k) + (t - 1) * k, seq_len(k))))
    model <- paste(c(model, differences), collapse = "\n")
  }
  fit <- cfa(model, data = wide, meanstructure = TRUE, missing = "ml", estimator = "MLR",
             control = list(iter.max = 10000, eval.max = 20000))
  fits[[name]] <<- fit
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

levels <- lapply(setNames(names(equal), names(equal)), level)
# each step against the previous level: lavaan's scaled difference for MLR
for (k in 2:length(equal)) {
  test <- lavTestLRT(fits[[k]], fits[[k - 1]], method = "satorra.bentler.2001")
  levels[[k]]$delta_chisq <- test[["Chisq diff"]][2]
  levels[[k]]$delta_df <- test[["Df diff"]][2]
  levels[[k]]$delta_pvalue <- test[["Pr(>Chisq)"]][2]
}

expected <- list(
  r = paste(R.version$major, R.version$minor, sep = "."),
  lavaan = as.character(packageVersion("lavaan")),
  semTools = as.character(packageVersion("semTools")),
  construct = "TA",
  waves = c("baseline", "week-4", "week-8"),
  call = "cfa(model, data = wide, meanstructure = TRUE, missing = 'ml', estimator = 'MLR')",
  rows = nrow(wide),
  levels = levels
)
writeLines(toJSON(expected, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "longitudinal_lavaan.json")
cat("wrote longitudinal_lavaan.json\n")
