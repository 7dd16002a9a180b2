# lavaan 0.6-14 reference values for factor scores (lavPredict).
#
# Run from the repository root:
#   Rscript tests/psychometrics/expected/factor_scores/generate_factor_scores.R
# Writes tests/psychometrics/expected/factor_scores/factor_scores_hs.json, read by
# tests/psychometrics/test_factor_scores.py: lavPredict(fit, method = "regression") and
# lavPredict(fit, method = "Bartlett") for the Holzinger-Swineford three-factor model, fitted
# without a mean structure (default), with meanstructure = TRUE, and with std.lv = TRUE; plus the
# regression scores of the second-order model on second_order_sim.csv. `estimates` holds the
# parameter estimates (parameterEstimates: lhs, op, rhs, est) so the formulas can be checked at
# lavaan's own estimates.
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

scores <- function(fit, method) {
  s <- lavPredict(fit, method = method)
  list(columns = colnames(s), values = unname(s))
}

case <- function(fit, call, methods = c("regression", "Bartlett")) {
  pe <- parameterEstimates(fit)
  out <- list(call = call, converged = lavInspect(fit, "converged"),
              estimates = list(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, est = pe$est))
  for (m in methods) out[[tolower(m)]] <- scores(fit, m)
  out
}

out <- list(
  meta = list(
    script = "tests/psychometrics/expected/factor_scores/generate_factor_scores.R",
    r = R.version.string,
    lavaan = as.character(packageVersion("lavaan")),
    jsonlite = as.character(packageVersion("jsonlite")),
    date = format(Sys.Date()),
    note = "values: one row per observation (data order), columns as in `columns`"
  ),
  hs_model = HS_MODEL,
  so_model = SO_MODEL,
  hs = case(cfa(HS_MODEL, data = hs), "cfa(HS_MODEL, data = hs)"),
  hs_meanstructure = case(cfa(HS_MODEL, data = hs, meanstructure = TRUE),
                          "cfa(HS_MODEL, data = hs, meanstructure = TRUE)"),
  hs_std_lv = case(cfa(HS_MODEL, data = hs, std.lv = TRUE),
                   "cfa(HS_MODEL, data = hs, std.lv = TRUE)"),
  second_order = case(cfa(SO_MODEL, data = so), "cfa(SO_MODEL, data = so)", "regression")
)
write_json(out, "tests/psychometrics/expected/factor_scores/factor_scores_hs.json",
           auto_unbox = TRUE, digits = 15, pretty = FALSE, null = "null", matrix = "rowmajor")
