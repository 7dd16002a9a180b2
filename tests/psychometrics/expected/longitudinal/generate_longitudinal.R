# Reference values for longitudinal measurement invariance (psychometrics.cfa.longitudinal).
#
# Run from the repository root:
#   Rscript tests/psychometrics/expected/longitudinal/generate_longitudinal.R
# Needs R >= 4.0 with lavaan (0.6-14 made the committed values), semTools (0.5-6), MASS and
# jsonlite. Writes, beside this script:
#   long.csv       the simulated data in long format (one row per participant x wave attended)
#   model.lav      the cross-sectional model (the CLI's --model)
#   lavaan_longitudinal.json   lavaan's fits of the four levels, complete cases and FIML, with
#                  estimator = "ML" (listwise, ml) and "MLR" (mlr_listwise, mlr_ml)
#
# Design: 2 factors x 3 items (F1 =~ x1 + x2 + x3; F2 =~ x4 + x5 + x6), N = 400 participants,
# 3 waves (wave = 0, 4, 8: weeks). The population is scalar invariant (equal loadings and
# intercepts at every wave; the residual variances grow by 15 % a wave, so strict invariance
# fails; x3 has an unmodelled cross-loading of .3 on F2 at every wave, so the fit is not
# perfect and CFI/RMSEA differ from 1/0), the latent means rise (F1 0, .3, .5;
# F2 0, .2, .4), the latent variances grow a little, each factor is autocorrelated across the
# waves and each item's residual is correlated with its own residual at the other waves.
# Dropout is monotone and MAR on the wave-1 scores: a participant with a low wave-1 mean of
# x1..x6 is more likely to miss wave 2 (about 10 %) and, if still in, wave 3 (about 20 % missing
# by wave 3 in all). A participant who drops out has no row at the later waves.
#
# The models are written by semTools::measEq.syntax from the configural model with its default
# identification for continuous indicators, ID.fac = "std.lv" (all factor variances 1 and latent
# means 0 in the configural model; from the metric level on, the variances of the later waves'
# factors are free; from the scalar level on, their means too), longFacNames / longIndNames
# (one factor per construct per wave), auto = "all" (each item's residuals correlated across
# every pair of waves) and long.equal. Each level is fitted with lavaan::cfa(meanstructure =
# TRUE) on the wide data (columns <item>_w<k>, k = position of the wave): listwise (the
# participants observed at all three waves) and missing = "ml" (everyone).
suppressPackageStartupMessages({
  library(lavaan)
  library(semTools)
  library(MASS)
  library(jsonlite)
})

here <- "tests/psychometrics/expected/longitudinal"
seed <- 20261201
set.seed(seed)
n <- 400
waves <- c(0, 4, 8)
n_waves <- length(waves)
constructs <- list(F1 = c("x1", "x2", "x3"), F2 = c("x4", "x5", "x6"))
items <- unlist(constructs, use.names = FALSE)

# --- population ------------------------------------------------------------------------------
loadings <- c(0.8, 0.7, 0.6, 0.75, 0.65, 0.7)
intercepts <- c(3.0, 2.8, 3.2, 3.1, 2.9, 3.0)
residual_var <- c(0.40, 0.50, 0.55, 0.45, 0.50, 0.50)
residual_auto <- 0.15  # covariance of an item's residuals at two waves
residual_growth <- c(1, 1.15, 1.3)  # residual variances grow: strict invariance fails
cross_loading <- 0.3  # x3 also loads on F2, at every wave (not in the model: some misfit)
means <- rbind(F1 = c(0, 0.3, 0.5), F2 = c(0, 0.2, 0.4))
variances <- rbind(F1 = c(1, 1.1, 1.2), F2 = c(1, 1.05, 1.1))
auto_cor <- 0.6   # a factor with itself at the next wave (0.6^2 two waves apart)
cross_cor <- 0.4  # F1 with F2 at the same wave (x 0.6^|lag| across waves)

# factor_names in the order wave 1 (F1, F2), wave 2 (F1, F2), ...
factor_names <- unlist(lapply(seq_len(n_waves), function(k) paste0(names(constructs), "_w", k)))
m <- length(factor_names)
phi <- matrix(0, m, m, dimnames = list(factor_names, factor_names))
for (a in seq_len(m)) for (b in seq_len(m)) {
  fa <- sub("_w.*", "", factor_names[a]); fb <- sub("_w.*", "", factor_names[b])
  ka <- as.integer(sub(".*_w", "", factor_names[a])); kb <- as.integer(sub(".*_w", "", factor_names[b]))
  r <- (if (fa == fb) 1 else cross_cor) * auto_cor^abs(ka - kb)
  phi[a, b] <- r * sqrt(variances[fa, ka] * variances[fb, kb])
}
eta <- mvrnorm(n, mu = as.vector(means[, 1:n_waves]), Sigma = phi)
colnames(eta) <- factor_names

resid_cov <- function(j) {
  s <- matrix(residual_auto, n_waves, n_waves)
  s <- s + diag(residual_var[j] * residual_growth - residual_auto)
  s
}
wide <- data.frame(participant = sprintf("P%03d", seq_len(n)))
for (k in seq_len(n_waves)) for (j in seq_along(items)) wide[[paste0(items[j], "_w", k)]] <- NA
for (j in seq_along(items)) {
  e <- mvrnorm(n, mu = rep(0, n_waves), Sigma = resid_cov(j))
  f <- if (items[j] %in% constructs$F1) "F1" else "F2"
  for (k in seq_len(n_waves)) {
    wide[[paste0(items[j], "_w", k)]] <-
      intercepts[j] + loadings[j] * eta[, paste0(f, "_w", k)] + e[, k] +
      (if (items[j] == "x3") cross_loading * eta[, paste0("F2_w", k)] else 0)
  }
}
# values to 4 decimals, as a CSV would carry them (the fits below read these rounded values)
for (col in names(wide)[-1]) wide[[col]] <- round(wide[[col]], 4)

# --- dropout, MAR on the wave-1 mean ---------------------------------------------------------
score1 <- rowMeans(wide[, paste0(items, "_w1")])
z <- as.vector(scale(score1))
stay2 <- runif(n) > plogis(-2.2 - 0.8 * z)          # about 10 % gone at wave 2
stay3 <- stay2 & (runif(n) > plogis(-2.3 - 0.8 * z))  # about 10 % more at wave 3
attended <- cbind(TRUE, stay2, stay3)
for (k in 2:n_waves) wide[!attended[, k], paste0(items, "_w", k)] <- NA

long <- do.call(rbind, lapply(seq_len(n_waves), function(k) {
  rows <- attended[, k]
  out <- data.frame(participant = wide$participant[rows], wave = waves[k])
  for (item in items) out[[item]] <- wide[rows, paste0(item, "_w", k)]
  out
}))
long <- long[order(long$participant, long$wave), ]
write.csv(long, file.path(here, "long.csv"), row.names = FALSE, na = "")
model <- "F1 =~ x1 + x2 + x3\nF2 =~ x4 + x5 + x6\n"
writeLines(sub("\n$", "", model), file.path(here, "model.lav"))

# --- the ladder ------------------------------------------------------------------------------
configural <- paste(unlist(lapply(seq_len(n_waves), function(k) vapply(names(constructs),
  function(f) sprintf("%s_w%d =~ %s", f, k, paste0(constructs[[f]], "_w", k, collapse = " + ")),
  character(1)))), collapse = "\n")
long_factors <- setNames(lapply(names(constructs), function(f) paste0(f, "_w", seq_len(n_waves))),
                         names(constructs))
long_items <- setNames(lapply(items, function(i) paste0(i, "_w", seq_len(n_waves))), items)
equal <- list(
  configural = "",
  metric = "loadings",
  scalar = c("loadings", "intercepts"),
  strict = c("loadings", "intercepts", "residuals")
)
measures <- c("npar", "fmin", "chisq", "df", "pvalue", "baseline.chisq", "baseline.df",
              "baseline.pvalue", "cfi", "tli", "logl", "unrestricted.logl", "aic", "bic",
              "ntotal", "bic2", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.pvalue",
              "srmr")
wide_data <- wide[, c("participant", unlist(lapply(seq_len(n_waves),
  function(k) paste0(items, "_w", k))))]
complete <- wide_data[complete.cases(wide_data), ]

robust_measures <- c("chisq.scaled", "df.scaled", "pvalue.scaled", "chisq.scaling.factor",
                     "baseline.chisq.scaled", "baseline.chisq.scaling.factor", "cfi.scaled",
                     "tli.scaled", "cfi.robust", "tli.robust", "rmsea.scaled", "rmsea.robust",
                     "rmsea.ci.lower.robust", "rmsea.ci.upper.robust")

fit_level <- function(name, data, missing, estimator = "ML") {
  syntax <- measEq.syntax(configural.model = configural, data = data,
                          longFacNames = long_factors, longIndNames = long_items,
                          long.equal = equal[[name]], auto = "all")
  text <- as.character(syntax)
  fit <- cfa(text, data = data, meanstructure = TRUE, missing = missing, estimator = estimator)
  est <- parameterEstimates(fit)
  chosen <- if (estimator == "ML") measures else c(measures, robust_measures)
  list(
    syntax = text,
    converged = lavInspect(fit, "converged"),
    fit_measures = as.list(fitMeasures(fit, chosen)),
    estimates = lapply(seq_len(nrow(est)), function(i) list(
      lhs = est$lhs[i], op = est$op[i], rhs = est$rhs[i], label = est$label[i],
      est = est$est[i], se = est$se[i]
    )),
    fit = fit
  )
}

# lavTestLRT's default: the plain difference for ML; for MLR the Satorra-Bentler (2001) scaled
# difference, (T0 - T1) / cd with cd = (df0 c0 - df1 c1) / (df0 - df1)
ladder <- function(data, missing, estimator = "ML") {
  fits <- lapply(setNames(names(equal), names(equal)), fit_level, data = data,
                 missing = missing, estimator = estimator)
  lrt <- lavTestLRT(fits$configural$fit, fits$metric$fit, fits$scalar$fit, fits$strict$fit)
  lrt <- as.data.frame(lrt)
  list(
    nobs = lavInspect(fits$configural$fit, "nobs"),
    levels = lapply(fits, function(x) x[names(x) != "fit"]),
    lrt = lapply(seq_len(nrow(lrt)), function(i) list(
      level = names(equal)[i], chisq = lrt$Chisq[i], df = lrt$Df[i],
      chisq_diff = lrt$`Chisq diff`[i], df_diff = lrt$`Df diff`[i],
      pvalue = lrt$`Pr(>Chisq)`[i]
    ))
  )
}

expected <- list(
  meta = list(
    generator = "tests/psychometrics/expected/longitudinal/generate_longitudinal.R",
    r = paste(R.version$major, R.version$minor, sep = "."),
    lavaan = as.character(packageVersion("lavaan")),
    semTools = as.character(packageVersion("semTools")),
    date = format(Sys.Date()),
    rng = RNGkind(),
    seed = seed,
    n_participants = n,
    waves = waves,
    rows_per_wave = as.list(setNames(colSums(attended), paste0("w", seq_len(n_waves)))),
    identification = "measEq.syntax default ID.fac = 'std.lv'",
    call = "cfa(measEq.syntax(configural, data, longFacNames, longIndNames, long.equal, auto = 'all'), data, meanstructure = TRUE, missing = ...)"
  ),
  listwise = ladder(complete, "listwise"),
  ml = ladder(wide_data, "ml"),
  mlr_listwise = ladder(complete, "listwise", "MLR"),
  mlr_ml = ladder(wide_data, "ml", "MLR")
)
writeLines(toJSON(expected, auto_unbox = TRUE, digits = 15, pretty = TRUE, na = "null"),
           file.path(here, "lavaan_longitudinal.json"))
cat("wrote", file.path(here, "lavaan_longitudinal.json"), "\n")
cat("rows per wave:", colSums(attended), " complete:", nrow(complete), "\n")
