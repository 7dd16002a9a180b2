# lavaan 0.6-14 reference values for modification indices of a linear growth model.
#
# Run from the repository root:
#   Rscript tests/psychometrics/expected/growth_mi/generate_growth_mi.R
# Writes demo_growth.csv (lavaan::Demo.growth, t1..t4 and the covariates) and growth_mi.json in
# this directory, read by tests/psychometrics/test_modification_growth.py.
#
# growth() is cfa() with meanstructure = TRUE, int.ov.free = FALSE (observed intercepts fixed to
# 0) and int.lv.free = TRUE (latent means free). modindices() then lists, besides the loadings and
# residual covariances, the four fixed intercepts t1~1 .. t4~1 (18 rows; the latent means are
# free and so not listed). The same model is also written out with explicit intercepts and
# means and fitted with cfa(meanstructure = TRUE) to record that it is the same model.
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})

dir <- "tests/psychometrics/expected/growth_mi"
write.csv(Demo.growth, file.path(dir, "demo_growth.csv"), row.names = FALSE)
data <- read.csv(file.path(dir, "demo_growth.csv"))

model <- "i =~ 1*t1 + 1*t2 + 1*t3 + 1*t4\ns =~ 0*t1 + 1*t2 + 2*t3 + 3*t4"
explicit <- paste(model, "t1 ~ 0*1\nt2 ~ 0*1\nt3 ~ 0*1\nt4 ~ 0*1\ni ~ 1\ns ~ 1", sep = "\n")
# A variant that also lists latent means: the slope mean fixed to 0 (a no-growth model).
no_growth <- paste(model, "t1 ~ 0*1\nt2 ~ 0*1\nt3 ~ 0*1\nt4 ~ 0*1\ni ~ 1\ns ~ 0*1", sep = "\n")

fit_names <- c("npar", "logl", "chisq", "df", "cfi", "tli", "rmsea", "srmr")

describe <- function(fit, call) {
  mi <- modindices(fit, sort. = FALSE)
  pe <- parameterEstimates(fit)
  list(
    call = call,
    converged = lavInspect(fit, "converged"),
    fit = as.list(fitMeasures(fit, fit_names)),
    estimates = pe[, c("lhs", "op", "rhs", "est", "se")],
    modindices = data.frame(lhs = mi$lhs, op = mi$op, rhs = mi$rhs, mi = mi$mi, epc = mi$epc,
                            sepc.lv = mi$sepc.lv, sepc.all = mi$sepc.all, sepc.nox = mi$sepc.nox)
  )
}

# Where freeing a fixed mean would leave the model unidentified lavaan lists no ~1 row: factor
# means fixed to 0 beside free intercepts (one group with a mean structure, and group 1 of
# metric/scalar invariance). Recorded as the keys of every row.
hs <- read.csv("tests/psychometrics/data/holzinger_swineford_1939.csv")
hs_model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
mi_keys <- function(fit) {
  mi <- modindices(fit, sort. = FALSE)
  group <- if (is.null(mi$group)) rep(1L, nrow(mi)) else mi$group
  data.frame(lhs = mi$lhs, op = mi$op, rhs = mi$rhs, group = group)
}
hs_cases <- list(
  meanstructure = list(
    call = "cfa(hs_model, data = hs, meanstructure = TRUE)",
    rows = mi_keys(cfa(hs_model, data = hs, meanstructure = TRUE))
  ),
  scalar = list(
    call = "cfa(hs_model, data = hs, group = \"school\", group.equal = c(\"loadings\", \"intercepts\"))",
    rows = mi_keys(cfa(hs_model, data = hs, group = "school",
                       group.equal = c("loadings", "intercepts")))
  )
)

out <- list(
  meta = list(
    script = "tests/psychometrics/expected/growth_mi/generate_growth_mi.R",
    r = R.version.string,
    lavaan = as.character(packageVersion("lavaan")),
    jsonlite = as.character(packageVersion("jsonlite")),
    data = "demo_growth.csv (lavaan::Demo.growth, N = 400)",
    date = format(Sys.Date()),
    note = "modindices(fit, sort. = FALSE): lavaan's order; NA is null"
  ),
  model = model,
  explicit_model = explicit,
  no_growth_model = no_growth,
  growth = describe(growth(model, data = data), "growth(model, data = data)"),
  explicit = describe(cfa(explicit, data = data, meanstructure = TRUE),
                      "cfa(explicit_model, data = data, meanstructure = TRUE)"),
  no_growth = describe(cfa(no_growth, data = data, meanstructure = TRUE),
                       "cfa(no_growth_model, data = data, meanstructure = TRUE)"),
  hs_model = hs_model,
  hs = hs_cases
)
write_json(out, file.path(dir, "growth_mi.json"), auto_unbox = TRUE, digits = 15, pretty = TRUE,
           null = "null", dataframe = "rows")
