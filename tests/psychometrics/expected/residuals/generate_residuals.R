# lavaan 0.6-14 reference values for lavResiduals() (type = "cor.bentler", the default).
#
# Run from the repository root:
#   Rscript tests/psychometrics/expected/residuals/generate_residuals.R
# Writes tests/psychometrics/expected/residuals/residuals.json, read by
# tests/psychometrics/test_residuals.py. In lavaan 0.6-14 lavResiduals(fit) returns a list with
# `type`, `cov` (residual correlations: S and Sigma-hat both divided by the observed SDs),
# `cov.z` (standardised residuals), `summary` (a data frame with rows srmr, srmr.se,
# srmr.exactfit.z, srmr.exactfit.pvalue, usrmr, usrmr.se, usrmr.ci.lower, usrmr.ci.upper,
# usrmr.closefit.h0.value, usrmr.closefit.z, usrmr.closefit.pvalue and a column `cov`, plus
# `mean` and `total` with a mean structure), and with a mean structure `mean` and `mean.z`.
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})

hs <- read.csv("tests/psychometrics/data/holzinger_swineford_1939.csv")
so <- read.csv("tests/psychometrics/data/second_order_sim.csv")
HS_MODEL <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
SO_MODEL <- paste("f1 =~ y1 + y2 + y3", "f2 =~ y4 + y5 + y6", "f3 =~ y7 + y8 + y9",
                  "f4 =~ y10 + y11 + y12", "f5 =~ y13 + y14 + y15", "g1 =~ f1 + f2 + f3",
                  "g2 =~ a*f4 + a*f5", sep = "\n")

na_null <- function(x) lapply(x, function(v) if (is.na(v)) NULL else unname(v))

case <- function(fit, call) {
  r <- lavResiduals(fit)
  s <- r$summary
  summ <- lapply(setNames(names(s), names(s)), function(col)
    na_null(setNames(as.list(s[[col]]), rownames(s))))
  pe <- parameterEstimates(fit)
  out <- list(call = call, type = r$type,
              estimates = list(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, est = pe$est), variables = rownames(r$cov),
              cov = unname(unclass(r$cov)), cov_z = unname(unclass(r$cov.z)), summary = summ,
              fit_srmr = unname(fitMeasures(fit, "srmr")))
  if (!is.null(r$mean)) {
    out$mean <- unname(as.numeric(r$mean))
    out$mean_z <- unname(as.numeric(r$mean.z))
  }
  out
}

out <- list(
  meta = list(
    script = "tests/psychometrics/expected/residuals/generate_residuals.R",
    r = R.version.string,
    lavaan = as.character(packageVersion("lavaan")),
    jsonlite = as.character(packageVersion("jsonlite")),
    date = format(Sys.Date()),
    note = "NA is null; matrices row-major"
  ),
  hs_model = HS_MODEL,
  so_model = SO_MODEL,
  hs = case(cfa(HS_MODEL, data = hs), "cfa(HS_MODEL, data = hs)"),
  hs_meanstructure = case(cfa(HS_MODEL, data = hs, meanstructure = TRUE),
                          "cfa(HS_MODEL, data = hs, meanstructure = TRUE)"),
  second_order = case(cfa(SO_MODEL, data = so), "cfa(SO_MODEL, data = so)")
)
write_json(out, "tests/psychometrics/expected/residuals/residuals.json",
           auto_unbox = TRUE, digits = 15, pretty = TRUE, null = "null", matrix = "rowmajor")
