# lavaan's summary(fit, fit.measures = TRUE, standardized = TRUE) of ordinal (categorical) CFAs,
# printed by R 4.2.2 / lavaan 0.6-14, for tests/psychometrics/test_summary_ordinal.py.
# The data are the ordinal oracles' (expected/ordinal/sparse5.csv and missing5.csv, written with a fixed seed by
# expected/ordinal/generate_ordinal.R; expected/ordinal_second_order/second_order5.csv, by
# expected/ordinal_second_order/generate_second_order_ordinal.R).
# Run from the repository root:
#   Rscript tests/psychometrics/expected/summary/generate_summary_ordinal.R
suppressMessages(library(lavaan))
out <- "tests/psychometrics/expected/summary"
sparse5 <- read.csv("tests/psychometrics/expected/ordinal/sparse5.csv")
missing5 <- read.csv("tests/psychometrics/expected/ordinal/missing5.csv")
second5 <- read.csv("tests/psychometrics/expected/ordinal_second_order/second_order5.csv")
model <- "f1 =~ y1 + y2 + y3 + y4\nf2 =~ y5 + y6 + y7 + y8"
second_order <- "A =~ A1 + A2 + A3\nB =~ B1 + B2 + B3\nC =~ C1 + C2 + C3\nG =~ A + B + C"
runs <- list(
  ord_wlsmv = function() cfa(model, data = sparse5, ordered = TRUE, estimator = "WLSMV"),
  ord_wlsmv_theta = function() cfa(model, data = sparse5, ordered = TRUE, estimator = "WLSMV",
                                   parameterization = "theta"),
  ord_wlsm = function() cfa(model, data = sparse5, ordered = TRUE, estimator = "WLSM"),
  ord_ulsmv = function() cfa(model, data = sparse5, ordered = TRUE, estimator = "ULSMV"),
  ord_wlsmv_pairwise = function() cfa(model, data = missing5, ordered = TRUE,
                                      estimator = "WLSMV", missing = "pairwise"),
  ord_second_order = function() cfa(second_order, data = second5, ordered = TRUE,
                                    estimator = "WLSMV")
)
for (name in names(runs)) {
  fit <- runs[[name]]()
  text <- capture.output(summary(fit, fit.measures = TRUE, standardized = TRUE))
  writeLines(c(paste0("# R ", getRversion(), ", lavaan ", packageVersion("lavaan"), ": ",
                      name, ": ", deparse(body(runs[[name]]), width.cutoff = 500L)), text),
             file.path(out, paste0(name, ".txt")))
}
