# lavaan 0.6-14 reference values for SEM paths in the CFA engine: regressions between factors,
# MIMIC covariates (fixed.x = TRUE), observed outcomes of factors, and ':=' defined parameters
# (delta-method SEs), with ML, FIML (missing = "ml") and MLR.
#
# Run from the repository root:
#   Rscript tests/psychometrics/expected/regressions/generate_regressions.R
# Writes, next to this script: mediation.csv, mediation_missing.csv, mimic.csv (simulated,
# seeded) and regressions_oracles.json, read by tests/psychometrics/test_cfa_regressions.py.
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})
here <- "tests/psychometrics/expected/regressions"

# -- data -------------------------------------------------------------------------------------
set.seed(20261202)
n <- 400
x <- rnorm(n)
m <- 0.5 * x + rnorm(n, sd = sqrt(0.75))
y <- 0.4 * m + 0.2 * x + rnorm(n, sd = 0.8)
med <- data.frame(row.names = seq_len(n))
lam <- c(1, 0.8, 0.7)
for (f in c("x", "m", "y")) for (j in 1:3) {
  eta <- get(f)
  med[[sprintf("%s%d", f, j)]] <- round(lam[j] * eta + rnorm(n, sd = 0.6), 3)
}
write.csv(med, file.path(here, "mediation.csv"), row.names = FALSE)

# ~10 % MCAR in the m and y indicators (x1 always observed).
med_mis <- med
for (v in c("x2", "x3", "m1", "m2", "m3", "y1", "y2", "y3")) med_mis[[v]][runif(n) < 0.1] <- NA
write.csv(med_mis, file.path(here, "mediation_missing.csv"), row.names = FALSE, na = "")

# MIMIC: two factors, one continuous covariate (age) and one binary (sex); an observed outcome.
n2 <- 350
age <- round(rnorm(n2, 40, 12))
sex <- rbinom(n2, 1, 0.45)
f1 <- 0.03 * (age - 40) + 0.5 * sex + rnorm(n2)
f2 <- 0.4 * f1 - 0.3 * sex + rnorm(n2, sd = 0.9)
mim <- data.frame(age = age, sex = sex)
for (j in 1:4) mim[[sprintf("a%d", j)]] <- round(c(1, 0.9, 0.8, 0.7)[j] * f1 + rnorm(n2, sd = 0.7), 3)
for (j in 1:3) mim[[sprintf("b%d", j)]] <- round(c(1, 0.8, 0.9)[j] * f2 + rnorm(n2, sd = 0.6), 3)
mim$out <- round(0.5 * f2 + 0.01 * age + rnorm(n2), 3)
write.csv(mim, file.path(here, "mimic.csv"), row.names = FALSE)

# ~10 % MCAR in some indicators and in the observed outcome; the covariates stay complete.
mim_mis <- mim
for (v in c("a2", "a3", "b2", "b3", "out")) mim_mis[[v]][runif(n2) < 0.1] <- NA
write.csv(mim_mis, file.path(here, "mimic_missing.csv"), row.names = FALSE, na = "")

hs <- read.csv("tests/psychometrics/data/holzinger_swineford_1939.csv")

# -- models -----------------------------------------------------------------------------------
med_model <- "fx =~ x1 + x2 + x3
fm =~ m1 + m2 + m3
fy =~ y1 + y2 + y3
fm ~ a*fx
fy ~ b*fm + c*fx
ind := a*b
total := c + a*b
ratio := a*b / (c + a*b)"
mimic_model <- "f1 =~ a1 + a2 + a3 + a4
f2 =~ b1 + b2 + b3
f1 ~ g1*age + sex
f2 ~ g2*f1 + sex
out ~ f2 + age
prod := g1*g2"
hs_model <- "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9
speed ~ visual + textual"

est_table <- function(fit) {
  pe <- parameterEstimates(fit, ci = FALSE)
  keep <- intersect(c("lhs", "op", "rhs", "group", "label", "est", "se", "z", "pvalue"), names(pe))
  pe[, keep]
}
fit_all <- function(fit) {
  fm <- as.list(fitMeasures(fit))
  lapply(fm, function(v) if (is.na(v)) NULL else unname(v))
}
std_table <- function(fit, type) {
  s <- standardizedSolution(fit, type = type, ci = FALSE)
  s[, intersect(c("lhs", "op", "rhs", "group", "label", "est.std", "se", "z", "pvalue"), names(s))]
}
one <- function(model, data, call, ...) {
  fit <- cfa(model, data = data, ...)
  mi <- tryCatch(modindices(fit, sort. = FALSE), error = function(e) NULL)
  list(model = model, call = call, converged = lavInspect(fit, "converged"),
       npar = lavInspect(fit, "npar"),
       estimates = est_table(fit), fit_measures = fit_all(fit),
       std_all = std_table(fit, "std.all"), std_lv = std_table(fit, "std.lv"),
       modindices = if (is.null(mi)) NULL else mi[, c("lhs", "op", "rhs", "mi", "epc")])
}

out <- list(
  meta = list(
    lavaan = as.character(packageVersion("lavaan")), R = R.version.string,
    seed = 20261202, generated = format(Sys.time(), "%Y-%m-%d", tz = "UTC"),
    note = "cfa() with lavaan's defaults (fixed.x = TRUE, auto.cov.lv.x), as written in 'call'"
  ),
  mediation = one(med_model, med, "cfa(model, data = mediation)"),
  mediation_stdlv = one(med_model, med, "cfa(model, data = mediation, std.lv = TRUE)", std.lv = TRUE),
  mediation_fiml = one(med_model, med_mis, "cfa(model, data = mediation_missing, missing = 'ml')",
                       missing = "ml"),
  mediation_mlr = one(med_model, med, "cfa(model, data = mediation, estimator = 'MLR')",
                      estimator = "MLR"),
  mediation_fiml_mlr = one(med_model, med_mis,
                           "cfa(model, data = mediation_missing, missing = 'ml', estimator = 'MLR')",
                           missing = "ml", estimator = "MLR"),
  mimic = one(mimic_model, mim, "cfa(model, data = mimic)"),
  mimic_mean = one(mimic_model, mim, "cfa(model, data = mimic, meanstructure = TRUE)",
                   meanstructure = TRUE),
  mimic_fiml = one(mimic_model, mim_mis, "cfa(model, data = mimic_missing, missing = 'ml')",
                   missing = "ml"),
  mimic_mlr = one(mimic_model, mim, "cfa(model, data = mimic, estimator = 'MLR')",
                  estimator = "MLR"),
  hs = one(hs_model, hs, "cfa(model, data = hs)")
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = FALSE),
           file.path(here, "regressions_oracles.json"))
cat("ok\n")

# summary(fit, fit.measures = TRUE, standardized = TRUE) as lavaan prints it
summaries <- list(
  summary_mediation = function() cfa(med_model, data = med),
  summary_mimic = function() cfa(mimic_model, data = mim),
  summary_hs = function() cfa(hs_model, data = hs)
)
for (name in names(summaries)) {
  fit <- summaries[[name]]()
  text <- capture.output(summary(fit, fit.measures = TRUE, standardized = TRUE))
  writeLines(c(paste0("# R ", getRversion(), ", lavaan ", packageVersion("lavaan"), ": ",
                      name), text), file.path(here, paste0(name, ".txt")))
}

# two groups (HS schools): group-specific regression labels and a defined difference
hs_group_model <- "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9
speed ~ c(b1, b2)*visual + textual
diff := b1 - b2"
groups <- one(hs_group_model, hs, "cfa(model, data = hs, group = 'school')", group = "school")
groups$estimates$group <- parameterEstimates(cfa(hs_group_model, data = hs, group = "school"))$group
oracle <- jsonlite::fromJSON(file.path(here, "regressions_oracles.json"), simplifyVector = FALSE)
oracle$hs_group <- groups
oracle$path <- one("x9 ~ x1 + x2\nx7 ~ x9 + x1", hs, "cfa(model, data = hs)")
oracle$hs_group_equal <- one(hs_model, hs,
  "cfa(model, data = hs, group = 'school', group.equal = c('loadings', 'regressions'))",
  group = "school", group.equal = c("loadings", "regressions"))
# factor scores (lavPredict), first 25 rows: covariates' means enter the factors' means
oracle$factor_scores <- list(
  mimic_regression = as.list(as.data.frame(head(lavPredict(cfa(mimic_model, data = mim)), 25))),
  mediation_regression = as.list(as.data.frame(head(lavPredict(cfa(med_model, data = med)), 25))),
  mediation_bartlett = as.list(as.data.frame(head(lavPredict(cfa(med_model, data = med),
                                                            method = "Bartlett"), 25)))
)
writeLines(toJSON(oracle, auto_unbox = TRUE, digits = NA, null = "null", na = "null",
                  pretty = FALSE), file.path(here, "regressions_oracles.json"))
