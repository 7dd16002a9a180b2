# names(fitMeasures(fit)) of lavaan 0.6-14 (R 4.2.2) for each estimator the engine fits, one
# name a line, for tests/psychometrics/test_fit_names.py. Run from the repository root:
#   Rscript tests/psychometrics/expected/fit_names/generate_fit_names.R
suppressMessages(library(lavaan))
out <- "tests/psychometrics/expected/fit_names"
hs <- read.csv("tests/psychometrics/data/holzinger_swineford_1939.csv")
model <- ' visual  =~ x1 + x2 + x3
           textual =~ x4 + x5 + x6
           speed   =~ x7 + x8 + x9 '
ordinal <- hs
for (v in paste0("x", 1:9)) ordinal[[v]] <- cut(hs[[v]], 4, labels = FALSE)
fits <- list(
  ML = function() cfa(model, data = hs, estimator = "ML"),
  MLR = function() cfa(model, data = hs, estimator = "MLR"),
  MLM = function() cfa(model, data = hs, estimator = "MLM"),
  ML_fiml = function() cfa(model, data = hs, estimator = "ML", missing = "ml"),
  MLR_fiml = function() cfa(model, data = hs, estimator = "MLR", missing = "ml"),
  WLSMV = function() cfa(model, data = ordinal, estimator = "WLSMV", ordered = TRUE),
  WLSM = function() cfa(model, data = ordinal, estimator = "WLSM", ordered = TRUE),
  ULSMV = function() cfa(model, data = ordinal, estimator = "ULSMV", ordered = TRUE)
)
for (name in names(fits)) {
  writeLines(names(fitMeasures(fits[[name]]())), file.path(out, paste0(name, ".txt")))
}
