# lavaan's summary(fit, fit.measures = TRUE, standardized = TRUE) of the Holzinger-Swineford
# three-factor CFA, printed by R 4.2.2 / lavaan 0.6-14, for tests/psychometrics/test_summary.py.
# Run from the repository root:
#   Rscript tests/psychometrics/expected/summary/generate_summary.R
suppressMessages(library(lavaan))
out <- "tests/psychometrics/expected/summary"
hs <- read.csv("tests/psychometrics/data/holzinger_swineford_1939.csv")
hs_missing <- read.csv("tests/psychometrics/data/hs_missing.csv")
model <- ' visual  =~ x1 + x2 + x3
           textual =~ x4 + x5 + x6
           speed   =~ x7 + x8 + x9 '
second_order <- ' visual  =~ x1 + a*x2 + a*x3
                  textual =~ x4 + x5 + x6
                  speed   =~ x7 + x8 + x9
                  g =~ visual + textual + speed
                  x1 ~~ x4 '
runs <- list(
  hs_ml = function() cfa(model, data = hs, estimator = "ML"),
  hs_mlr = function() cfa(model, data = hs, estimator = "MLR"),
  hs_mlm = function() cfa(model, data = hs, estimator = "MLM"),
  hs_ml_group = function() cfa(model, data = hs, estimator = "ML", group = "school"),
  hs_ml_stdlv = function() cfa(model, data = hs, estimator = "ML", std.lv = TRUE),
  hs_metric = function() cfa(model, data = hs, group = "school", group.equal = "loadings"),
  hs_ml_fiml = function() cfa(model, data = hs_missing, missing = "ml"),
  hs_mlr_fiml = function() cfa(model, data = hs_missing, missing = "ml", estimator = "MLR"),
  hs_mlr_group = function() cfa(model, data = hs, group = "school", estimator = "MLR"),
  hs_second_order = function() cfa(second_order, data = hs)
)
for (name in names(runs)) {
  fit <- runs[[name]]()
  text <- capture.output(summary(fit, fit.measures = TRUE, standardized = TRUE))
  writeLines(c(paste0("# R ", getRversion(), ", lavaan ", packageVersion("lavaan"), ": ",
                      name), text), file.path(out, paste0(name, ".txt")))
}
