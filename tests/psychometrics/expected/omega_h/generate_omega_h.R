# semTools 0.5-6 reference values for reliability of second-order factors.
#
# Run from the repository root:
#   Rscript tests/psychometrics/expected/omega_h/generate_omega_h.R
# Writes tests/psychometrics/expected/omega_h/omega_h.json, read by
# tests/psychometrics/test_omega_hierarchical.py: reliabilityL2(fit, f) (omegaL1, omegaL2,
# partialOmegaL1; model-implied denominators) and compRelSEM(fit, higher = f) (observed total
# variance, obs.var = TRUE) for both second-order factors of the model on second_order_sim.csv,
# as written (g2's loadings both fixed to 1 by the shared label) and with std.lv = TRUE.
# `estimates` (parameterEstimates: lhs, op, rhs, est) lets the formulas be checked at lavaan's
# own estimates.
suppressPackageStartupMessages({
  library(lavaan)
  library(semTools)
  library(jsonlite)
})

so <- read.csv("tests/psychometrics/data/second_order_sim.csv")
SO_MODEL <- paste("f1 =~ y1 + y2 + y3", "f2 =~ y4 + y5 + y6", "f3 =~ y7 + y8 + y9",
                  "f4 =~ y10 + y11 + y12", "f5 =~ y13 + y14 + y15", "g1 =~ f1 + f2 + f3",
                  "g2 =~ a*f4 + a*f5", sep = "\n")

case <- function(fit, call) {
  crel <- compRelSEM(fit, higher = c("g1", "g2"))
  pe <- parameterEstimates(fit)
  out <- list(call = call, converged = lavInspect(fit, "converged"),
              estimates = list(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, est = pe$est),
              compRelSEM = as.list(unclass(crel)))
  for (f in c("g1", "g2")) out$reliabilityL2[[f]] <- as.list(reliabilityL2(fit, f))
  out
}

out <- list(
  meta = list(
    script = "tests/psychometrics/expected/omega_h/generate_omega_h.R",
    r = R.version.string,
    lavaan = as.character(packageVersion("lavaan")),
    semTools = as.character(packageVersion("semTools")),
    jsonlite = as.character(packageVersion("jsonlite")),
    date = format(Sys.Date())
  ),
  model = SO_MODEL,
  as_written = case(cfa(SO_MODEL, data = so), "cfa(SO_MODEL, data = so)"),
  std_lv = case(cfa(SO_MODEL, data = so, std.lv = TRUE), "cfa(SO_MODEL, data = so, std.lv = TRUE)")
)
write_json(out, "tests/psychometrics/expected/omega_h/omega_h.json",
           auto_unbox = TRUE, digits = 15, pretty = TRUE, null = "null")
