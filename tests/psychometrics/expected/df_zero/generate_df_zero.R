# lavaan 0.6-14 reference values for just-identified (df = 0) CFA models.
#
# Run from the repository root:
#   Rscript tests/psychometrics/expected/df_zero/generate_df_zero.R
# Writes tests/psychometrics/expected/df_zero/df_zero_hs.json, read by
# tests/psychometrics/test_cfa_df_zero.py. For df = 0 lavaan reports pvalue = NA, CFI = TLI = 1,
# RMSEA = 0 with the 90% interval [0, 0] and rmsea.pvalue = NA (lav_fit_cfi, lav_fit_tli,
# lav_fit_rmsea, lav_fit_rmsea_ci, lav_fit_rmsea_closefit); chisq is clamped at 0 per group
# (lav_model_test: chisq.group[chisq.group < 0] <- 0).
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})

hs <- read.csv("tests/psychometrics/data/holzinger_swineford_1939.csv")

fit_names <- c("npar", "ntotal", "logl", "unrestricted.logl", "aic", "bic", "bic2",
               "chisq", "df", "pvalue", "baseline.chisq", "baseline.df", "baseline.pvalue",
               "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.pvalue", "srmr")

models <- list(
  one_factor = list(model = "visual =~ x1 + x2 + x3", group = NULL),
  one_factor_two_groups = list(model = "visual =~ x1 + x2 + x3", group = "school"),
  two_factor = list(model = "f1 =~ x4 + x5\nf2 =~ x7 + x8\nx4 ~~ x7", group = NULL)
)

cases <- lapply(models, function(m) {
  fit <- if (is.null(m$group)) cfa(m$model, data = hs) else cfa(m$model, data = hs, group = m$group)
  fm <- as.list(fitMeasures(fit, fit_names))
  fm <- lapply(fm, function(v) if (is.na(v)) NULL else unname(v))
  list(model = m$model, group = m$group,
       call = if (is.null(m$group)) "cfa(model, data = hs)" else
         sprintf("cfa(model, data = hs, group = \"%s\")", m$group),
       converged = lavInspect(fit, "converged"), fit = fm)
})

out <- list(
  meta = list(
    script = "tests/psychometrics/expected/df_zero/generate_df_zero.R",
    r = R.version.string,
    lavaan = as.character(packageVersion("lavaan")),
    jsonlite = as.character(packageVersion("jsonlite")),
    data = "tests/psychometrics/data/holzinger_swineford_1939.csv (lavaan::HolzingerSwineford1939)",
    date = format(Sys.Date()),
    note = "NA is null"
  ),
  cases = cases
)
write_json(out, "tests/psychometrics/expected/df_zero/df_zero_hs.json", auto_unbox = TRUE,
           digits = 15, pretty = TRUE, null = "null")
