# Golden values for longitudinal invariance of ordered items (WLSMV, delta) and for the
# continuous longitudinal ladder with estimator = "MLM" (psychometrics.cfa.longitudinal).
# R 4.2.2, lavaan 0.6-14, semTools 0.5-6, MASS, jsonlite. From the repository root:
#   Rscript tests/psychometrics/expected/ordinal_invariance/generate_longitudinal_ordinal.R
# Writes long_ordinal.csv and longitudinal_oracles.json next to itself.
#
# Ordinal design: 2 factors x 3 five-point items (F1 =~ y1 + y2 + y3; F2 =~ y4 + y5 + y6),
# N = 400 participants, 3 waves (0, 1, 2). Latent responses as in the continuous generator
# (../longitudinal/generate_longitudinal.R): autocorrelated factors with rising means, each
# item's residuals correlated across waves, an unmodelled cross-loading of y3 on F2; y6's top
# category is sparse. Dropout is monotone and MAR on the wave-1 sum (about 10 % gone at wave 2,
# 20 % by wave 3); a participant who drops out has no row at the later waves.
#
# Models: semTools::measEq.syntax(configural, data, ordered, parameterization = "delta",
# ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016", longFacNames, longIndNames,
# long.equal = <level>, auto = "all"), fitted with estimator = "WLSMV" on the wide data:
# complete cases (missing = "listwise") and missing = "pairwise" (everyone); theta_listwise:
# parameterization = "theta" on the complete cases, with strict invariance as a fifth level.
# MLM: the continuous ladder of ../longitudinal (long.csv), complete cases, estimator = "MLM".
suppressPackageStartupMessages({library(lavaan); library(semTools); library(MASS);
                                library(jsonlite)})
here <- "tests/psychometrics/expected/ordinal_invariance"
RNGkind("Mersenne-Twister", "Inversion", "Rejection")
seed <- 20261203
set.seed(seed)
n <- 400; n_waves <- 3
constructs <- list(F1 = c("y1", "y2", "y3"), F2 = c("y4", "y5", "y6"))
items <- unlist(constructs, use.names = FALSE)
loadings <- c(0.8, 0.7, 0.6, 0.75, 0.65, 0.7)
means <- rbind(F1 = c(0, 0.3, 0.5), F2 = c(0, 0.2, 0.4))
factor_names <- unlist(lapply(seq_len(n_waves), function(k) paste0(names(constructs), "_w", k)))
m <- length(factor_names)
phi <- matrix(0, m, m)
for (a in seq_len(m)) for (b in seq_len(m)) {
  fa <- sub("_w.*", "", factor_names[a]); fb <- sub("_w.*", "", factor_names[b])
  ka <- as.integer(sub(".*_w", "", factor_names[a])); kb <- as.integer(sub(".*_w", "", factor_names[b]))
  phi[a, b] <- (if (fa == fb) 1 else 0.4) * 0.6^abs(ka - kb)
}
eta <- mvrnorm(n, mu = as.vector(means), Sigma = phi); colnames(eta) <- factor_names
th <- rep(list(c(-1.5, -.5, .4, 1.3)), 6); th[[6]] <- c(-1.2, -.2, .8, 2.1)
wide <- data.frame(participant = sprintf("P%03d", seq_len(n)))
for (j in seq_along(items)) {
  f <- if (items[j] %in% constructs$F1) "F1" else "F2"
  uniq <- 1 - loadings[j]^2
  e <- mvrnorm(n, rep(0, n_waves), matrix(0.2 * uniq, n_waves, n_waves) + diag(0.8 * uniq, n_waves))
  for (k in seq_len(n_waves)) {
    z <- loadings[j] * eta[, paste0(f, "_w", k)] + e[, k] +
      (if (items[j] == "y3") 0.3 * eta[, paste0("F2_w", k)] else 0)
    wide[[paste0(items[j], "_w", k)]] <- findInterval(z, th[[j]]) + 1L
  }
}
score1 <- as.vector(scale(rowSums(wide[, paste0(items, "_w1")])))
stay2 <- runif(n) > plogis(-2.2 - 0.8 * score1)
stay3 <- stay2 & (runif(n) > plogis(-2.3 - 0.8 * score1))
attended <- cbind(TRUE, stay2, stay3)
for (k in 2:n_waves) wide[!attended[, k], paste0(items, "_w", k)] <- NA
long <- do.call(rbind, lapply(seq_len(n_waves), function(k) {
  rows <- attended[, k]
  out <- data.frame(participant = wide$participant[rows], wave = k - 1)
  for (item in items) out[[item]] <- wide[rows, paste0(item, "_w", k)]
  out
}))
long <- long[order(long$participant, long$wave), ]
write.csv(long, file.path(here, "long_ordinal.csv"), row.names = FALSE, na = "")
wide_items <- unlist(lapply(seq_len(n_waves), function(k) paste0(items, "_w", k)))
complete <- wide[complete.cases(wide), ]
stopifnot(min(table(complete$y6_w1)) <= 8)

configural <- paste(unlist(lapply(seq_len(n_waves), function(k) vapply(names(constructs),
  function(f) sprintf("%s_w%d =~ %s", f, k, paste0(constructs[[f]], "_w", k, collapse = " + ")),
  character(1)))), collapse = "\n")
long_factors <- setNames(lapply(names(constructs), function(f) paste0(f, "_w", seq_len(n_waves))),
                         names(constructs))
long_items <- setNames(lapply(items, function(i) paste0(i, "_w", seq_len(n_waves))), items)
ladder <- list(configural = "", thresholds = "thresholds",
               metric = c("thresholds", "loadings"),
               scalar = c("thresholds", "loadings", "intercepts"),
               strict = c("thresholds", "loadings", "intercepts", "residuals"))
ladder_delta <- ladder[1:4]
num <- function(x) unname(as.numeric(x))
ordinal_ladder <- function(data, missing, parameterization = "delta") {
  fits <- list(); out <- list()
  # strict (equal residual variances) is a model of the theta parameterisation only
  levels <- if (parameterization == "delta") names(ladder_delta) else names(ladder)
  for (lv in levels) {
    syntax <- as.character(measEq.syntax(configural, data = data, ordered = wide_items,
      parameterization = parameterization, ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016",
      longFacNames = long_factors, longIndNames = long_items, long.equal = ladder[[lv]],
      auto = "all"))
    fit <- cfa(syntax, data = data, ordered = wide_items, estimator = "WLSMV",
               parameterization = parameterization, missing = missing)
    fits[[lv]] <- fit
    pe <- parameterEstimates(fit)
    out[[lv]] <- list(syntax = syntax, converged = lavInspect(fit, "converged"),
                      nobs = lavInspect(fit, "nobs"),
                      estimates = list(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, est = pe$est,
                                       se = pe$se),
                      fit_measures = as.list(setNames(num(fitMeasures(fit)), names(fitMeasures(fit)))))
  }
  lrt <- list()
  for (k in 2:length(levels)) {
    a <- lavTestLRT(fits[[k - 1]], fits[[k]])
    lrt[[levels[k]]] <- list(versus = levels[k - 1],
      chisq_diff = a[["Chisq diff"]][2], df_diff = a[["Df diff"]][2], pvalue = a[["Pr(>Chisq)"]][2])
  }
  list(levels = out, lrt = lrt)
}

# MLM on the continuous longitudinal data (complete cases)
cont_long <- read.csv("tests/psychometrics/expected/longitudinal/long.csv")
xi <- paste0("x", 1:6)
cw <- reshape(cont_long, idvar = "participant", timevar = "wave", direction = "wide", sep = "_")
waves_c <- sort(unique(cont_long$wave))
for (k in seq_along(waves_c)) for (i in xi) cw[[paste0(i, "_w", k)]] <- cw[[paste0(i, "_", waves_c[k])]]
cw <- cw[, c("participant", unlist(lapply(1:3, function(k) paste0(xi, "_w", k))))]
cw <- cw[complete.cases(cw), ]
cconf <- "F1_w1 =~ x1_w1 + x2_w1 + x3_w1\nF2_w1 =~ x4_w1 + x5_w1 + x6_w1\nF1_w2 =~ x1_w2 + x2_w2 + x3_w2\nF2_w2 =~ x4_w2 + x5_w2 + x6_w2\nF1_w3 =~ x1_w3 + x2_w3 + x3_w3\nF2_w3 =~ x4_w3 + x5_w3 + x6_w3"
cfac <- list(F1 = paste0("F1_w", 1:3), F2 = paste0("F2_w", 1:3))
cind <- setNames(lapply(xi, function(i) paste0(i, "_w", 1:3)), xi)
equal <- list(configural = "", metric = "loadings", scalar = c("loadings", "intercepts"),
              strict = c("loadings", "intercepts", "residuals"))
mlm_fits <- lapply(equal, function(eq) cfa(as.character(measEq.syntax(cconf, data = cw,
  longFacNames = cfac, longIndNames = cind, long.equal = eq, auto = "all")), data = cw,
  meanstructure = TRUE, estimator = "MLM"))
mlm <- list(nobs = nrow(cw), levels = lapply(mlm_fits, function(f) {
  pe <- parameterEstimates(f)
  list(estimates = list(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, est = pe$est, se = pe$se),
       fit_measures = as.list(setNames(num(fitMeasures(f)), names(fitMeasures(f)))))
}))
a <- as.data.frame(lavTestLRT(mlm_fits$configural, mlm_fits$metric, mlm_fits$scalar, mlm_fits$strict))
mlm$lrt <- lapply(2:4, function(i) list(level = names(equal)[i], chisq_diff = a$`Chisq diff`[i],
                                        df_diff = a$`Df diff`[i], pvalue = a$`Pr(>Chisq)`[i]))

meta <- list(R = R.version.string, lavaan = as.character(packageVersion("lavaan")),
             semTools = as.character(packageVersion("semTools")), seed = seed,
             rows_per_wave = colSums(attended), complete = nrow(complete),
             call = paste("cfa(measEq.syntax(configural, data, ordered, parameterization = 'delta',",
                          "ID.fac = 'std.lv', ID.cat = 'Wu.Estabrook.2016', longFacNames,",
                          "longIndNames, long.equal = <level>, auto = 'all'), data, ordered,",
                          "estimator = 'WLSMV', missing = <listwise|pairwise>);",
                          "MLM: cfa(measEq.syntax(..., auto = 'all'), meanstructure = TRUE,",
                          "estimator = 'MLM') on complete cases of ../longitudinal/long.csv;",
                          "lavTestLRT(previous, current) (default method)"))
out <- list(meta = meta, listwise = ordinal_ladder(complete, "listwise"),
            pairwise = ordinal_ladder(wide, "pairwise"),
            theta_listwise = ordinal_ladder(complete, "listwise", "theta"), mlm = mlm)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", null = "null", pretty = TRUE),
           file.path(here, "longitudinal_oracles.json"))

