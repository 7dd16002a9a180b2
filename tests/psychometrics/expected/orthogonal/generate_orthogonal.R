# Reference values for orthogonal = TRUE (lavaan 0.6-14): Holzinger-Swineford three factors,
# marker and std.lv identification, ML and MLR; and the 5-point sparse5 data by WLSMV.
# Run from this folder: Rscript generate_orthogonal.R
suppressPackageStartupMessages({library(lavaan); library(jsonlite)})
hs <- read.csv("../../data/holzinger_swineford_1939.csv")
sparse <- read.csv("../ordinal/sparse5.csv")
hs_model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
ord_model <- fromJSON("../ordinal/ordinal_oracles.json")$sparse5$model
one <- function(fit) {
  pe <- parameterEstimates(fit)
  mi <- tryCatch(modindices(fit)[, c("lhs", "op", "rhs", "mi", "epc")], error = function(e) NULL)
  list(estimates = pe[, c("lhs", "op", "rhs", "est", "se")],
       fit_measures = as.list(fitMeasures(fit)), modindices = mi)
}
out <- list(
  meta = list(generator = "generate_orthogonal.R", R = R.version.string,
              lavaan = as.character(packageVersion("lavaan")), date = as.character(Sys.Date())),
  hs_model = hs_model, ord_model = ord_model,
  fits = list(
    ml = one(cfa(hs_model, hs, orthogonal = TRUE)),
    ml_std_lv = one(cfa(hs_model, hs, orthogonal = TRUE, std.lv = TRUE)),
    mlr = one(cfa(hs_model, hs, orthogonal = TRUE, estimator = "MLR")),
    wlsmv = one(cfa(ord_model, sparse, orthogonal = TRUE, ordered = TRUE, estimator = "WLSMV"))))
writeLines(toJSON(out, digits = 15, auto_unbox = TRUE, na = "null", pretty = TRUE),
           "orthogonal_oracles.json")
