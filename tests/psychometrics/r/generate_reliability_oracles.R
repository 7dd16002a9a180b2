# Reference values for psychometrics/items.py, reliability.py and efa.py.
#
# Run from the repository root:
#     Rscript tests/psychometrics/r/generate_reliability_oracles.R
#
# Needs R with psych, lavaan, semTools, GPArotation and jsonlite (Debian: r-base-core r-cran-psych
# r-cran-lavaan r-cran-semtools r-cran-gparotation r-cran-jsonlite). R is never a runtime or test
# dependency: the JSON and CSV files this writes are committed and the Python tests read them.
#
# Writes
#   tests/psychometrics/data/reliability_likert_sim.csv   simulated 1..5 Likert data, with NAs
#   tests/psychometrics/data/reliability_retest_sim.csv   simulated two-wave scale scores
#   tests/psychometrics/expected/items_describe.json      psych::describe
#   tests/psychometrics/expected/reliability_oracles.json psych::alpha, alpha.ci (Feldt), psych::ICC,
#                                                         odd-even split half, lavaan + semTools omega
#   tests/psychometrics/expected/efa_oracles.json         psych::KMO, cortest.bartlett, fa, fa.parallel

suppressPackageStartupMessages({
  library(psych)
  library(lavaan)
  library(semTools)
  library(GPArotation)
  library(jsonlite)
})

if (!file.exists("tests/psychometrics/data/holzinger_swineford_1939.csv")) {
  stop("run from the repository root (tests/psychometrics/data/holzinger_swineford_1939.csv not found)")
}
data_dir <- "tests/psychometrics/data"
out_dir <- "tests/psychometrics/expected"

meta <- list(
  generated_by = "tests/psychometrics/r/generate_reliability_oracles.R",
  r_version = R.version.string,
  packages = list(
    psych = as.character(packageVersion("psych")),
    lavaan = as.character(packageVersion("lavaan")),
    semTools = as.character(packageVersion("semTools")),
    GPArotation = as.character(packageVersion("GPArotation")),
    jsonlite = as.character(packageVersion("jsonlite"))
  )
)

write_json_file <- function(x, name) {
  path <- file.path(out_dir, name)
  writeLines(toJSON(x, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), path)
  cat("wrote", path, "\n")
}

# ---------------------------------------------------------------- data
hs <- read.csv(file.path(data_dir, "holzinger_swineford_1939.csv"))
hs_items <- paste0("x", 1:9)
hs_scales <- list(visual = c("x1", "x2", "x3"), textual = c("x4", "x5", "x6"),
                  speed = c("x7", "x8", "x9"))

# Simulated Likert data: two correlated factors, 1..5 responses, two reverse-worded items per
# the first scale (a3, a6), about 3 % of responses missing completely at random.
set.seed(20240611)
n <- 400
f <- MASS::mvrnorm(n, mu = c(0, 0), Sigma = matrix(c(1, 0.35, 0.35, 1), 2))
lam_a <- c(0.75, 0.65, -0.60, 0.70, 0.55, -0.65)
lam_b <- c(0.70, 0.60, 0.75, 0.50, 0.65)
to_likert <- function(z) as.integer(cut(z, breaks = c(-Inf, -1.3, -0.45, 0.35, 1.2, Inf)))
lik <- data.frame(row.names = NULL, id = seq_len(n))
for (j in seq_along(lam_a)) {
  lik[[paste0("a", j)]] <- to_likert(lam_a[j] * f[, 1] + sqrt(1 - lam_a[j]^2) * rnorm(n))
}
for (j in seq_along(lam_b)) {
  lik[[paste0("b", j)]] <- to_likert(lam_b[j] * f[, 2] + sqrt(1 - lam_b[j]^2) * rnorm(n))
}
lik_items <- c(paste0("a", 1:6), paste0("b", 1:5))
for (v in lik_items) {
  lik[[v]][runif(n) < 0.03] <- NA
}
write.csv(lik, file.path(data_dir, "reliability_likert_sim.csv"), row.names = FALSE, na = "")
cat("wrote", file.path(data_dir, "reliability_likert_sim.csv"), "\n")

# Reverse-keyed items scored against the response range 1..5: 1 + 5 - x.
lik_keyed <- lik
lik_keyed$a3 <- 6 - lik_keyed$a3
lik_keyed$a6 <- 6 - lik_keyed$a6
lik_scales <- list(a = paste0("a", 1:6), b = paste0("b", 1:5))

# Two-wave test-retest data: true score + wave effect + error, no missing values.
set.seed(20240612)
n_rt <- 120
true <- rnorm(n_rt, 20, 4)
retest <- data.frame(id = seq_len(n_rt),
                     t1 = round(true + rnorm(n_rt, 0, 2), 2),
                     t2 = round(true + 0.8 + rnorm(n_rt, 0, 2), 2))
write.csv(retest, file.path(data_dir, "reliability_retest_sim.csv"), row.names = FALSE)
cat("wrote", file.path(data_dir, "reliability_retest_sim.csv"), "\n")

# ---------------------------------------------------------------- describe
describe_of <- function(df) {
  d <- psych::describe(df, type = 3)
  lapply(setNames(rownames(d), rownames(d)), function(v) {
    list(n = d[v, "n"], mean = d[v, "mean"], sd = d[v, "sd"], median = d[v, "median"],
         min = d[v, "min"], max = d[v, "max"], skew = d[v, "skew"], kurtosis = d[v, "kurtosis"])
  })
}
# type 1 and 2 as well, to check the `type` option. Note: psych 2.2.9's kurtosi(type = 1) on a
# data frame divides by length(x[, i]), which counts missing values, so its type-1 kurtosis is off
# for incomplete items; compare type 1 kurtosis on complete data only.
describe_types <- function(df) {
  out <- list()
  for (t in 1:3) {
    d <- psych::describe(df, type = t)
    out[[paste0("type", t)]] <- list(skew = as.list(setNames(d$skew, rownames(d))),
                                     kurtosis = as.list(setNames(d$kurtosis, rownames(d))))
  }
  out
}
write_json_file(list(
  meta = meta,
  note = "psych::describe(x, type = 3) per column (na.rm = TRUE: each item on its own n)",
  holzinger_swineford = describe_of(hs[hs_items]),
  likert_sim = describe_of(lik[lik_items]),
  likert_sim_types = describe_types(lik[lik_items]),
  holzinger_swineford_types = describe_types(hs[hs_items])
), "items_describe.json")

# ---------------------------------------------------------------- reliability
alpha_of <- function(df, use) {
  a <- psych::alpha(df, use = use, warnings = FALSE)
  ci <- psych::alpha.ci(a$total$raw_alpha, nrow(df), ncol(df))
  list(raw_alpha = a$total$raw_alpha, std_alpha = a$total$std.alpha,
       average_r = a$total$average_r,
       feldt_lower = ci$lower.ci, feldt_upper = ci$upper.ci, n_rows = nrow(df),
       r_drop = as.list(setNames(a$item.stats$r.drop, rownames(a$item.stats))),
       alpha_drop = as.list(setNames(a$alpha.drop$raw_alpha, rownames(a$alpha.drop))),
       std_alpha_drop = as.list(setNames(a$alpha.drop$std.alpha, rownames(a$alpha.drop))))
}

odd_even <- function(df) {
  df <- df[complete.cases(df), , drop = FALSE]
  k <- ncol(df)
  odd <- rowSums(df[, seq(1, k, by = 2), drop = FALSE])
  even <- rowSums(df[, seq(2, k, by = 2), drop = FALSE])
  r <- cor(odd, even)
  list(n = nrow(df), r_halves = r, spearman_brown = 2 * r / (1 + r))
}

omega_of <- function(df, items, missing = "listwise") {
  model <- paste("f =~", paste(items, collapse = " + "))
  fit <- lavaan::cfa(model, data = df, std.lv = TRUE, missing = missing)
  pe <- parameterEstimates(fit)
  lam <- pe$est[pe$op == "=~"]
  theta <- pe$est[pe$op == "~~" & pe$lhs == pe$rhs & pe$lhs %in% items]
  list(model = model,
       n = lavInspect(fit, "nobs"),
       loadings = as.list(setNames(lam, items)),
       residual_variances = as.list(setNames(theta, items)),
       omega_model_implied = sum(lam)^2 / (sum(lam)^2 + sum(theta)),
       compRelSEM_obs_var_false = unname(semTools::compRelSEM(fit, obs.var = FALSE)[1]),
       compRelSEM_obs_var_true = unname(semTools::compRelSEM(fit, obs.var = TRUE)[1]),
       psych_omega_tot_1factor = suppressWarnings(suppressMessages(
         psych::omega(df[items], nfactors = 1, plot = FALSE)$omega.tot)))
}

icc_of <- function(df) {
  res <- psych::ICC(df, lmer = FALSE)
  r <- res$results
  rows <- c("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")
  names(rows) <- rows
  lapply(rows, function(type) {
    i <- which(r$type == type)
    list(icc = r$ICC[i], f = r$F[i], df1 = r$df1[i], df2 = r$df2[i], p = r$p[i],
         lower = r$`lower bound`[i], upper = r$`upper bound`[i])
  })
}

hs_rel <- lapply(hs_scales, function(items) {
  list(items = items,
       alpha_pairwise = alpha_of(hs[items], "pairwise"),
       split_half = odd_even(hs[items]),
       omega = omega_of(hs, items))
})
lik_rel <- lapply(lik_scales, function(items) {
  list(items = items,
       alpha_pairwise = alpha_of(lik_keyed[items], "pairwise"),
       alpha_listwise = alpha_of(lik_keyed[items][complete.cases(lik_keyed[items]), ], "pairwise"),
       split_half = odd_even(lik_keyed[items]),
       omega = omega_of(lik_keyed, items),
       omega_fiml = omega_of(lik_keyed, items, missing = "ml"))
})

write_json_file(list(
  meta = meta,
  note = paste(
    "alpha: psych::alpha on the item covariance matrix (use = pairwise by default; alpha_listwise",
    "is psych::alpha on the complete cases); Feldt CI from psych::alpha.ci(alpha, nrow, nvar).",
    "likert_sim: a3 and a6 reverse-keyed as 6 - x before analysis.",
    "omega: lavaan::cfa one-factor model, std.lv = TRUE, ML, listwise (omega_fiml: missing = 'ml');",
    "omega_model_implied = (sum lambda)^2 / ((sum lambda)^2 + sum theta) = compRelSEM(obs.var = FALSE).",
    "split_half: odd-even item halves on complete cases, Spearman-Brown 2r / (1 + r).",
    "icc: psych::ICC(retest[c('t1','t2')], lmer = FALSE)."),
  holzinger_swineford = hs_rel,
  likert_sim = lik_rel,
  icc_retest = icc_of(retest[c("t1", "t2")])
), "reliability_oracles.json")

# ---------------------------------------------------------------- EFA
mat_rows <- function(m) {
  m <- unclass(m)
  lapply(seq_len(nrow(m)), function(i) unname(m[i, ]))
}
fa_of <- function(df, nf, fm, rotate, use = "pairwise") {
  fit <- psych::fa(df, nfactors = nf, fm = fm, rotate = rotate, use = use, warnings = FALSE)
  list(fm = fm, rotate = rotate, nfactors = nf, items = colnames(df),
       loadings = mat_rows(fit$loadings),
       phi = if (is.null(fit$Phi)) NULL else mat_rows(fit$Phi),
       communalities = unname(fit$communality),
       uniquenesses = unname(fit$uniquenesses),
       values = fit$values, e_values = fit$e.values)
}
kmo_of <- function(df) {
  k <- psych::KMO(df)
  list(overall = k$MSA, per_item = as.list(k$MSAi))
}
bartlett_of <- function(df) {
  r <- cor(df, use = "pairwise")
  b <- psych::cortest.bartlett(r, n = nrow(df))
  list(chisq = b$chisq, p_value = b$p.value, df = b$df, n = nrow(df))
}
parallel_of <- function(df) {
  set.seed(20240613)
  p <- suppressWarnings(suppressMessages(
    psych::fa.parallel(df, fm = "minres", fa = "both", plot = FALSE, n.iter = 20)))
  list(pc_values = p$pc.values, fa_values = p$fa.values, nfact = p$nfact, ncomp = p$ncomp,
       note = "fa.parallel(fm = 'minres', fa = 'both', n.iter = 20); random percentiles differ by RNG")
}

write_json_file(list(
  meta = meta,
  note = paste("psych::fa, KMO, cortest.bartlett and fa.parallel with pairwise correlations",
               "(psych's default). GPArotation::oblimin for 'oblimin'; psych promax is",
               "kaiser(loadings, 'Promax'); varimax is stats::varimax."),
  holzinger_swineford = list(
    kmo = kmo_of(hs[hs_items]),
    bartlett = bartlett_of(hs[hs_items]),
    parallel = parallel_of(hs[hs_items]),
    fa = list(
      minres_oblimin = fa_of(hs[hs_items], 3, "minres", "oblimin"),
      ml_promax = fa_of(hs[hs_items], 3, "ml", "promax"),
      minres_varimax = fa_of(hs[hs_items], 3, "minres", "varimax"),
      ml_oblimin = fa_of(hs[hs_items], 3, "ml", "oblimin"),
      minres_none_1 = fa_of(hs[hs_items], 1, "minres", "none"),
      ml_none_2 = fa_of(hs[hs_items], 2, "ml", "none")
    )
  ),
  likert_sim = list(
    kmo = kmo_of(lik_keyed[lik_items]),
    bartlett = bartlett_of(lik_keyed[lik_items]),
    parallel = parallel_of(lik_keyed[lik_items]),
    fa = list(
      minres_oblimin = fa_of(lik_keyed[lik_items], 2, "minres", "oblimin"),
      ml_varimax = fa_of(lik_keyed[lik_items], 2, "ml", "varimax")
    )
  )
), "efa_oracles.json")
