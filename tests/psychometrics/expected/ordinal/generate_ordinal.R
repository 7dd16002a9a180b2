# Golden values for ordinal CFA (psychometrics.polychoric, psychometrics.cfa.ordinal).
# R 4.2.2, lavaan 0.6-14, psych 2.2.9, jsonlite. From the repository root:
#   Rscript tests/psychometrics/expected/ordinal/generate_ordinal.R
# Writes sparse5.csv, bfi.csv, binary.csv, missing5.csv and ordinal_oracles.json next to itself.
suppressPackageStartupMessages({library(lavaan); library(psych); library(jsonlite)})
out_dir <- "tests/psychometrics/expected/ordinal"
RNGkind("Mersenne-Twister", "Inversion", "Rejection")

cut_items <- function(z, th) {
  sapply(seq_len(ncol(z)), function(j) findInterval(z[, j], th[[j]]) + 1L)
}
sim <- function(n, lam, phi, th, seed) {
  set.seed(seed)
  m <- ncol(lam)
  f <- MASS::mvrnorm(n, rep(0, m), phi)
  e <- matrix(rnorm(n * nrow(lam)), n) %*% diag(sqrt(1 - rowSums((lam %*% phi) * lam)))
  cut_items(f %*% t(lam) + e, th)
}

# 1. 5-point, 2 factors x 4 items, N = 300; y8's top category has 3 responses
lam <- matrix(0, 8, 2); lam[1:4, 1] <- c(.8, .7, .6, .7); lam[5:8, 2] <- c(.75, .65, .7, .6)
phi <- matrix(c(1, .4, .4, 1), 2)
th <- rep(list(c(-1.5, -.5, .4, 1.3)), 8); th[[8]] <- c(-1.2, -.2, .8, 2.6)
y <- sim(300, lam, phi, th, 20261201)
colnames(y) <- paste0("y", 1:8)
sparse5 <- as.data.frame(y)
stopifnot(min(table(sparse5$y8)) <= 3)
write.csv(sparse5, file.path(out_dir, "sparse5.csv"), row.names = FALSE)

# 2. psych::bfi, 25 six-point items (listwise complete: lavaan's default)
bfi <- psych::bfi[, 1:25]
write.csv(bfi, file.path(out_dir, "bfi.csv"), row.names = FALSE, na = "")

# 3. binary, one factor x 6 items, N = 500
lamb <- matrix(c(.8, .7, .6, .75, .5, .65), 6, 1)
thb <- as.list(c(-.5, 0, .3, .8, -1.2, .1))
yb <- sim(500, lamb, matrix(1), thb, 777)
yb <- yb - 1L
colnames(yb) <- paste0("b", 1:6)
binary <- as.data.frame(yb)
write.csv(binary, file.path(out_dir, "binary.csv"), row.names = FALSE)

# 4. sparse5 with 8 % of the cells missing completely at random (pairwise polychorics)
set.seed(42)
miss <- as.matrix(sparse5)
miss[sample.int(length(miss), round(0.08 * length(miss)))] <- NA
missing5 <- as.data.frame(miss)
write.csv(missing5, file.path(out_dir, "missing5.csv"), row.names = FALSE, na = "")

num <- function(x) unname(as.numeric(x))
fit_block <- function(model, data, estimator, ordered, ...) {
  fit <- cfa(model, data = data, ordered = ordered, estimator = estimator, ...)
  pe <- parameterEstimates(fit)
  fm <- fitMeasures(fit)
  list(
    call = paste0("cfa(model, data, ordered = TRUE, estimator = '", estimator, "', ",
                  deparse(list(...)), ")"),
    converged = lavInspect(fit, "converged"),
    nobs = lavInspect(fit, "nobs"),
    estimates = list(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, est = pe$est, se = pe$se),
    fit_measures = as.list(setNames(num(fm), names(fm))),
    test = lapply(fit@test, function(t) t[setdiff(names(t), c("stat.group"))]),
    wls_obs = num(lavInspect(fit, "wls.obs")),
    gamma_diag = num(diag(lavInspect(fit, "gamma"))),
    vcov_diag = num(diag(vcov(fit)))
  )
}
cor_block <- function(data, missing = "listwise") {
  lc <- lavCor(data, ordered = names(data), missing = missing, output = "fit")
  th <- lavInspect(lc, "sampstat")$th
  R <- lavInspect(lc, "sampstat")$cov
  pc <- suppressWarnings(suppressMessages(
    psych::polychoric(data, correct = 0, smooth = FALSE, progress = FALSE)))
  list(
    items = names(data),
    lavaan_thresholds = num(th), lavaan_threshold_names = names(th),
    lavaan_cor = unname(unclass(R)[, ]),
    psych_rho = unname(pc$rho), psych_tau = unname(pc$tau)
  )
}

model_s <- "f1 =~ y1 + y2 + y3 + y4\nf2 =~ y5 + y6 + y7 + y8"
bfi_model <- paste(
  "A =~ A1 + A2 + A3 + A4 + A5", "C =~ C1 + C2 + C3 + C4 + C5",
  "E =~ E1 + E2 + E3 + E4 + E5", "N =~ N1 + N2 + N3 + N4 + N5",
  "O =~ O1 + O2 + O3 + O4 + O5", sep = "\n")
model_b <- "f =~ b1 + b2 + b3 + b4 + b5 + b6"
bfi_cc <- bfi[complete.cases(bfi), ]

res <- list(
  meta = list(
    generator = "tests/psychometrics/expected/ordinal/generate_ordinal.R",
    r = R.version.string, lavaan = as.character(packageVersion("lavaan")),
    psych = as.character(packageVersion("psych")), date = as.character(Sys.Date()),
    rng = RNGkind()
  ),
  sparse5 = list(
    model = model_s,
    cor = cor_block(sparse5),
    WLSMV = fit_block(model_s, sparse5, "WLSMV", TRUE),
    WLSM = fit_block(model_s, sparse5, "WLSM", TRUE),
    ULSMV = fit_block(model_s, sparse5, "ULSMV", TRUE),
    WLSMV_stdlv = fit_block(model_s, sparse5, "WLSMV", TRUE, std.lv = TRUE),
    WLSMV_theta = fit_block(model_s, sparse5, "WLSMV", TRUE, parameterization = "theta"),
    ULSMV_theta = fit_block(model_s, sparse5, "ULSMV", TRUE, parameterization = "theta")
  ),
  bfi = list(
    model = bfi_model,
    cor = cor_block(bfi_cc),
    WLSMV = fit_block(bfi_model, bfi, "WLSMV", TRUE)
  ),
  binary = list(
    model = model_b,
    cor = cor_block(binary),
    WLSMV = fit_block(model_b, binary, "WLSMV", TRUE),
    ULSMV = fit_block(model_b, binary, "ULSMV", TRUE),
    WLSMV_theta = fit_block(model_b, binary, "WLSMV", TRUE, parameterization = "theta")
  ),
  missing5 = list(
    model = model_s,
    cor = cor_block(missing5, missing = "pairwise"),
    WLSMV = fit_block(model_s, missing5, "WLSMV", TRUE, missing = "pairwise")
  )
)
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, null = "null", na = "null"),
           file.path(out_dir, "ordinal_oracles.json"))

# categorical omega (Green & Yang 2009) as semTools::compRelSEM reports it for ordered items
suppressPackageStartupMessages(library(semTools))
omega_block <- function(model, data) {
  fit <- cfa(model, data = data, ordered = TRUE)
  list(
    semTools = as.character(packageVersion("semTools")),
    obs_var = as.list(unclass(compRelSEM(fit))),
    model_var = as.list(unclass(compRelSEM(fit, obs.var = FALSE)))
  )
}
omega <- list(
  sparse5 = omega_block(model_s, sparse5),
  binary = omega_block(model_b, binary),
  bfi = omega_block(bfi_model, bfi)
)
writeLines(toJSON(omega, digits = NA, auto_unbox = TRUE),
           file.path(out_dir, "omega_oracles.json"))

# zero cells: a 2 x 2 table with one empty cell (30, 10 / 0, 60)
zc <- data.frame(a = c(rep(0, 40), rep(1, 60)), b = c(rep(0, 30), rep(1, 10), rep(1, 60)))
zero_cells <- list(
  data = zc,
  lavaan = lavCor(zc, ordered = c("a", "b"))[1, 2],
  psych_tetrachoric_correct_05 = suppressMessages(
    tetrachoric(zc, correct = .5, smooth = FALSE)$rho[1, 2]),
  psych_tetrachoric_correct_0 = tetrachoric(zc, correct = 0, smooth = FALSE)$rho[1, 2],
  # psych::polychoric ignores `correct` with its default global = TRUE (psych 2.2.9 polyc)
  psych_polychoric_sparse5_correct_05 = unname(suppressWarnings(
    polychoric(sparse5, correct = .5, smooth = FALSE, progress = FALSE)$rho))
)
writeLines(toJSON(zero_cells, digits = NA, auto_unbox = TRUE),
           file.path(out_dir, "zero_cell_oracles.json"))

# multi-group configural (no group.equal): binary items split into two halves, bfi by gender
binary_g <- binary; binary_g$g <- rep(c("A", "B"), 250)
bfi_g <- psych::bfi[, c(1:25, 26)]
write.csv(binary_g, file.path(out_dir, "binary_groups.csv"), row.names = FALSE)
write.csv(bfi_g, file.path(out_dir, "bfi_gender.csv"), row.names = FALSE, na = "")
mg_block <- function(model, data, estimator, group) {
  fit <- cfa(model, data = data, ordered = TRUE, estimator = estimator, group = group)
  pe <- parameterEstimates(fit)
  fm <- fitMeasures(fit)
  list(
    converged = lavInspect(fit, "converged"),
    nobs = lavInspect(fit, "nobs"),
    group_labels = lavInspect(fit, "group.label"),
    estimates = list(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, group = pe$group, est = pe$est,
                     se = pe$se),
    fit_measures = as.list(setNames(num(fm), names(fm)))
  )
}
multigroup <- list(
  binary = list(model = model_b, WLSMV = mg_block(model_b, binary_g, "WLSMV", "g"),
                WLSM = mg_block(model_b, binary_g, "WLSM", "g")),
  bfi = list(model = bfi_model, WLSMV = mg_block(bfi_model, bfi_g, "WLSMV", "gender"))
)
writeLines(toJSON(multigroup, digits = NA, auto_unbox = TRUE, null = "null", na = "null"),
           file.path(out_dir, "multigroup_oracles.json"))
