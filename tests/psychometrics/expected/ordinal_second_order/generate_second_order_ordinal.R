# Reference values for a second-order ordinal CFA (WLSMV, delta and theta parameterisation).
# Data: second_order5.csv, simulated once in R (seed 20261202): a general factor G, three
# first-order factors A, B, C (loadings .8 on G, disturbance .6), three 5-point items each.
# Run from this folder: Rscript generate_second_order_ordinal.R
suppressPackageStartupMessages({library(lavaan); library(jsonlite)})
if (!file.exists("second_order5.csv")) {
  set.seed(20261202)
  n <- 500
  g <- rnorm(n)
  cols <- list()
  for (f in c("A", "B", "C")) {
    eta <- 0.8 * g + 0.6 * rnorm(n)
    for (i in 1:3) {
      y <- 0.75 * eta + sqrt(1 - 0.75^2) * rnorm(n)
      cols[[paste0(f, i)]] <- findInterval(y, c(-1.5, -0.5, 0.5, 1.5)) + 1
    }
  }
  write.csv(as.data.frame(cols), "second_order5.csv", row.names = FALSE)
}
data <- read.csv("second_order5.csv")
model <- "A =~ A1 + A2 + A3\nB =~ B1 + B2 + B3\nC =~ C1 + C2 + C3\nG =~ A + B + C"
one <- function(param) {
  fit <- cfa(model, data, ordered = TRUE, estimator = "WLSMV", parameterization = param)
  pe <- parameterEstimates(fit)
  std <- standardizedSolution(fit)
  list(parameterization = param,
       estimates = pe[, c("lhs", "op", "rhs", "est", "se")],
       std_all = std[, c("lhs", "op", "rhs", "est.std")],
       fit_measures = as.list(fitMeasures(fit)))
}
out <- list(
  meta = list(generator = "generate_second_order_ordinal.R", R = R.version.string,
              lavaan = as.character(packageVersion("lavaan")), date = as.character(Sys.Date()),
              seed = 20261202,
              call = "cfa(model, data, ordered = TRUE, estimator = 'WLSMV', parameterization = p)"),
  model = model,
  fits = list(delta = one("delta"), theta = one("theta")))
writeLines(toJSON(out, digits = 15, auto_unbox = TRUE, na = "null", pretty = TRUE),
           "second_order_oracles.json")
