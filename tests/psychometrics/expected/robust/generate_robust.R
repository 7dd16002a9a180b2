# lavaan 0.6-14 reference values for robust ML: MLR (Huber-White SEs, Yuan-Bentler "Mplus"
# scaled test) with complete data and with FIML, MLM (Satorra-Bentler, robust.sem SEs), the
# robust fit measures, and the Satorra-Bentler (2001) scaled difference test (lavTestLRT).
#
# Run from the repository root:
#   Rscript tests/psychometrics/expected/robust/generate_robust.R
# Writes, next to this script: bfi_like.csv, bfi_like_mar.csv (simulated, seeded) and
# robust_oracles.json, read by tests/psychometrics/test_cfa_robust.py. Takes a few seconds.
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})
here <- "tests/psychometrics/expected/robust"

# -- data -------------------------------------------------------------------------------------
hs <- read.csv("tests/psychometrics/data/holzinger_swineford_1939.csv")
hs_missing <- read.csv("tests/psychometrics/data/hs_missing.csv")  # seeded MCAR, see ../README.md
ref <- lavaan::HolzingerSwineford1939
stopifnot(isTRUE(all.equal(as.matrix(hs[, paste0("x", 1:9)]),
                           as.matrix(ref[, paste0("x", 1:9)]), check.attributes = FALSE)))

# bfi-like: two correlated factors, five 6-point items each, skewed thresholds, N = 500.
set.seed(20261201)
n <- 500
phi <- matrix(c(1, 0.35, 0.35, 1), 2)
eta <- MASS::mvrnorm(n, c(0, 0), phi)
lam <- c(0.75, 0.7, 0.65, 0.6, 0.55)
cuts <- list(c(-2.0, -1.3, -0.6, 0.2, 1.0), c(-1.6, -0.9, -0.2, 0.5, 1.3),
             c(-2.2, -1.5, -0.8, 0.0, 0.8), c(-1.2, -0.5, 0.2, 0.9, 1.6),
             c(-1.8, -1.0, -0.3, 0.4, 1.2))
bfi <- data.frame(row.names = seq_len(n))
for (f in 1:2) for (j in 1:5) {
  y <- lam[j] * eta[, f] + rnorm(n, sd = sqrt(1 - lam[j]^2))
  bfi[[sprintf("%s%d", c("a", "c")[f], j)]] <- findInterval(y, cuts[[j]]) + 1L
}
write.csv(bfi, file.path(here, "bfi_like.csv"), row.names = FALSE)

# ~10 % missing at random: the c items go missing more often when a1 is low, a2..a5 when c1 is
# high; a1 and c1 are always observed (so no row is empty and the mechanism is MAR).
mar <- bfi
p_c <- plogis(-2.9 + 0.9 * (3.5 - bfi$a1))
p_a <- plogis(-2.9 + 0.9 * (bfi$c1 - 3.5))
for (v in c("c2", "c3", "c4", "c5")) mar[[v]][runif(n) < p_c] <- NA
for (v in c("a2", "a3", "a4", "a5")) mar[[v]][runif(n) < p_a] <- NA
write.csv(mar, file.path(here, "bfi_like_mar.csv"), row.names = FALSE, na = "")

# -- models -----------------------------------------------------------------------------------
hs_model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
hs_equal <- "visual =~ x1 + a*x2 + a*x3\ntextual =~ x4 + b*x5 + b*x6\nspeed =~ x7 + x8 + x9"
bfi_model <- "agree =~ a1 + a2 + a3 + a4 + a5\nconsc =~ c1 + c2 + c3 + c4 + c5"
bfi_orth <- paste0(bfi_model, "\nagree ~~ 0*consc")

est_table <- function(fit) {
  pe <- parameterEstimates(fit, ci = FALSE)
  keep <- intersect(c("lhs", "op", "rhs", "group", "label", "est", "se", "z", "pvalue"), names(pe))
  pe[, keep]
}
fit_all <- function(fit) {
  fm <- as.list(fitMeasures(fit))
  lapply(fm, function(v) if (is.na(v)) NULL else unname(v))
}
test_info <- function(fit) {
  t <- fit@test[[2]]
  list(test = t$test, stat = t$stat, df = t$df, pvalue = t$pvalue,
       scaling.factor = t$scaling.factor, trace.UGamma = t$trace.UGamma,
       scaling.factor.h1 = if (is.null(t$scaling.factor.h1)) NULL else t$scaling.factor.h1,
       scaling.factor.h0 = if (is.null(t$scaling.factor.h0)) NULL else t$scaling.factor.h0,
       unscaled = fit@test[[1]]$stat)
}
one <- function(model, data, call, ...) {
  fit <- cfa(model, data = data, ...)
  opt <- lavInspect(fit, "options")
  list(model = model, call = call, converged = lavInspect(fit, "converged"),
       options = opt[c("estimator", "se", "test", "information", "observed.information",
                       "h1.information", "information.meat", "missing", "meanstructure")],
       estimates = est_table(fit), fit_measures = fit_all(fit), test = test_info(fit),
       std_all = standardizedSolution(fit, type = "std.all", ci = FALSE)[
         , intersect(c("lhs", "op", "rhs", "group", "est.std", "se"),
                     names(standardizedSolution(fit, ci = FALSE)))],
       fit = fit)
}
lrt_table <- function(...) {
  tab <- lavTestLRT(...)
  data.frame(df = tab$Df, chisq = tab$Chisq, chisq_diff = tab[["Chisq diff"]],
             df_diff = tab[["Df diff"]], pvalue = tab[["Pr(>Chisq)"]])
}
strip <- function(x) { x$fit <- NULL; x }

cases <- list(
  hs_mlr = one(hs_model, hs, "cfa(model, hs, estimator = \"MLR\")", estimator = "MLR"),
  hs_mlm = one(hs_model, hs, "cfa(model, hs, estimator = \"MLM\")", estimator = "MLM"),
  hs_mlr_equal = one(hs_equal, hs, "cfa(model, hs, estimator = \"MLR\")", estimator = "MLR"),
  hs_mlm_equal = one(hs_equal, hs, "cfa(model, hs, estimator = \"MLM\")", estimator = "MLM"),
  bfi_mlr = one(bfi_model, bfi, "cfa(model, bfi_like, estimator = \"MLR\")", estimator = "MLR"),
  bfi_mlm = one(bfi_model, bfi, "cfa(model, bfi_like, estimator = \"MLM\")", estimator = "MLM"),
  bfi_mlr_fiml = one(bfi_model, mar, "cfa(model, bfi_like_mar, estimator = \"MLR\", missing = \"ml\")",
                     estimator = "MLR", missing = "ml"),
  bfi_mlr_fiml_orth = one(bfi_orth, mar,
                          "cfa(model, bfi_like_mar, estimator = \"MLR\", missing = \"ml\")",
                          estimator = "MLR", missing = "ml"),
  # edge cases: df = 0; missing = "ml" on complete data; FIML with two groups
  hs_mlr_df0 = one("visual =~ x1 + x2 + x3", hs, "cfa(model, hs, estimator = \"MLR\")",
                   estimator = "MLR"),
  hs_mlm_df0 = one("visual =~ x1 + x2 + x3", hs, "cfa(model, hs, estimator = \"MLM\")",
                   estimator = "MLM"),
  hs_mlr_ml_complete = one(hs_model, hs,
                           "cfa(model, hs, estimator = \"MLR\", missing = \"ml\")",
                           estimator = "MLR", missing = "ml"),
  hs_missing_mlr_groups = one("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6", hs_missing,
                              paste("cfa(model, hs_missing, estimator = \"MLR\",",
                                    "missing = \"ml\", group = \"school\")"),
                              estimator = "MLR", missing = "ml", group = "school")
)

lrt <- list(
  hs_mlr = list(h0 = "hs_mlr_equal", h1 = "hs_mlr",
                table = lrt_table(cases$hs_mlr$fit, cases$hs_mlr_equal$fit)),
  hs_mlm = list(h0 = "hs_mlm_equal", h1 = "hs_mlm",
                table = lrt_table(cases$hs_mlm$fit, cases$hs_mlm_equal$fit)),
  bfi_mlr_fiml = list(h0 = "bfi_mlr_fiml_orth", h1 = "bfi_mlr_fiml",
                      table = lrt_table(cases$bfi_mlr_fiml$fit, cases$bfi_mlr_fiml_orth$fit))
)

levels <- list(configural = "", metric = "loadings",
               scalar = c("loadings", "intercepts"),
               strict = c("loadings", "intercepts", "residuals"))
inv_fits <- lapply(levels, function(eq)
  cfa(hs_model, data = hs, group = "school", group.equal = eq, estimator = "MLR"))
invariance <- list(
  model = hs_model, group = "school", estimator = "MLR",
  levels = lapply(inv_fits, function(f) list(estimates = est_table(f),
                                             fit_measures = fit_all(f), test = test_info(f))),
  lrt = lrt_table(inv_fits$configural, inv_fits$metric, inv_fits$scalar, inv_fits$strict)
)

out <- list(
  meta = list(
    script = "tests/psychometrics/expected/robust/generate_robust.R",
    r = R.version.string,
    lavaan = as.character(packageVersion("lavaan")),
    jsonlite = as.character(packageVersion("jsonlite")),
    seed = 20261201, rng = RNGkind(),
    data = list(hs = "tests/psychometrics/data/holzinger_swineford_1939.csv",
                hs_missing = "tests/psychometrics/data/hs_missing.csv",
                bfi_like = file.path(here, "bfi_like.csv"),
                bfi_like_mar = file.path(here, "bfi_like_mar.csv"),
                bfi_like_missing_cells = sum(is.na(mar)),
                bfi_like_complete_rows = sum(complete.cases(mar))),
    date = format(Sys.Date()),
    note = "NA is null; fit_measures are all of fitMeasures(fit) with lavaan's names"
  ),
  cases = lapply(cases, strip),
  lrt = lrt,
  invariance = invariance
)
write_json(out, file.path(here, "robust_oracles.json"), auto_unbox = TRUE, digits = 15,
           pretty = TRUE, null = "null", na = "null")
