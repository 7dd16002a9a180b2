# lavaan 0.6-14 reference values for a nearly unidentified CFA: Holzinger-Swineford's three
# factors plus a method factor M on six items (x1, x2, x4, x5, x7, x8), all factors correlated
# (cfa() defaults). Fisher scoring alone drifts along a ridge (a loading grows past 250, logL
# -3724.50 after 500 iterations); lavaan's nlminb converges to logL -3708.10.
#
# Run from the repository root:
#   Rscript tests/psychometrics/expected/fallback/generate_fallback.R
# Writes tests/psychometrics/expected/fallback/hs_method_factor.json, read by
# tests/psychometrics/test_cfa_fallback.py.
#
# The solution is nearly unidentified: the smallest eigenvalue of the (unit) expected information
# is ~4e-8 against a largest of ~62, so parameters along that eigenvector are determined only
# to ~1e-3..1e-2 by an optimiser's stopping rule (nlminb's rel.tol = 1e-10 on F). The file keeps
# the eigenvalues and the eigenvector of the smallest one (in vcov order) so the test can tell
# the ridge parameters from the well-identified ones.
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})

hs <- read.csv("tests/psychometrics/data/holzinger_swineford_1939.csv")
model <- paste(
  "visual =~ x1 + x2 + x3",
  "textual =~ x4 + x5 + x6",
  "speed =~ x7 + x8 + x9",
  "M =~ x1 + x2 + x4 + x5 + x7 + x8",
  sep = "\n"
)
warnings_seen <- character(0)
fit <- withCallingHandlers(cfa(model, data = hs), warning = function(w) {
  warnings_seen <<- c(warnings_seen, conditionMessage(w))
  invokeRestart("muffleWarning")
})

fit_names <- c("npar", "ntotal", "logl", "unrestricted.logl", "aic", "bic", "chisq", "df",
               "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "srmr")
info <- lavInspect(fit, "information")
eig <- eigen(info, symmetric = TRUE)
pe <- parameterEstimates(fit)
std <- standardizedSolution(fit)

out <- list(
  meta = list(
    script = "tests/psychometrics/expected/fallback/generate_fallback.R",
    r = R.version.string,
    lavaan = as.character(packageVersion("lavaan")),
    jsonlite = as.character(packageVersion("jsonlite")),
    data = "tests/psychometrics/data/holzinger_swineford_1939.csv (lavaan::HolzingerSwineford1939)",
    date = format(Sys.Date()),
    note = "NA is null"
  ),
  model = model,
  call = "cfa(model, data = hs)",
  optimizer = lavInspect(fit, "options")$optim.method,
  bounds = lavInspect(fit, "options")$optim.bounds,
  converged = lavInspect(fit, "converged"),
  iterations = lavInspect(fit, "iterations"),
  warnings = I(warnings_seen),
  fit = lapply(as.list(fitMeasures(fit, fit_names)), unname),
  estimates = pe[, c("lhs", "op", "rhs", "est", "se")],
  std_all = std[, c("lhs", "op", "rhs", "est.std")],
  gradient = unname(lavInspect(fit, "optim.gradient")),
  vcov_names = colnames(vcov(fit)),
  information_eigenvalues = eig$values,
  smallest_eigenvector = eig$vectors[, ncol(info)]
)
write_json(out, "tests/psychometrics/expected/fallback/hs_method_factor.json", auto_unbox = TRUE,
           digits = 15, pretty = TRUE, null = "null", dataframe = "rows")
