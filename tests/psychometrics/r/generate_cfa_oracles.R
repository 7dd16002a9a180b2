#!/usr/bin/env Rscript
# Golden reference values from R's lavaan (and semTools, psych) for the tests of psychometrics.cfa.
#
# Run from the repository root:
#
#     Rscript tests/psychometrics/r/generate_cfa_oracles.R
#
# Writes tests/psychometrics/expected/cfa_*.json and the data sets they were fitted on under
# tests/psychometrics/data/. R is a tool for producing these files only, never a dependency of the
# project: the JSON and CSV files are committed and the Python tests read them.
#
# Conventions of the JSON files
# - every file has a `meta` object: generator, R / lavaan / semTools / psych / jsonlite versions,
#   date, the RNG settings and seed where random numbers are drawn, and the exact lavaan call(s);
# - tables (parameterEstimates, standardizedSolution, modindices, parTable, lavTestLRT) are arrays
#   of row objects with lavaan's own column names;
# - fitMeasures are objects keyed by lavaan's names, dots kept ("rmsea.ci.lower");
# - matrices are {"names": [...], "values": [[row], ...]} (row-major);
# - NA / NaN / Inf are written as null; numbers with 15 significant digits; `warnings` is
#   always an array of lavaan's warning texts.

suppressPackageStartupMessages({
  library(lavaan)
  library(semTools)
  library(psych)
  library(jsonlite)
})

if (!dir.exists("tests") || !file.exists("pyproject.toml")) {
  stop("run this script from the repository root: Rscript tests/psychometrics/r/generate_cfa_oracles.R")
}
EXPECTED_DIR <- file.path("tests", "psychometrics", "expected")
DATA_DIR <- file.path("tests", "psychometrics", "data")
dir.create(EXPECTED_DIR, recursive = TRUE, showWarnings = FALSE)
dir.create(DATA_DIR, recursive = TRUE, showWarnings = FALSE)

# State the RNG explicitly so that the seeds below mean the same thing on every R >= 3.6.
RNG_KIND <- c("Mersenne-Twister", "Inversion", "Rejection")
RNGkind(RNG_KIND[1], RNG_KIND[2], RNG_KIND[3])

HS_MODEL <- "visual  =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed   =~ x7 + x8 + x9"
HS_ITEMS <- paste0("x", 1:9)
HS_FACTORS <- list(visual = c("x1", "x2", "x3"), textual = c("x4", "x5", "x6"),
                   speed = c("x7", "x8", "x9"))


# ---------------------------------------------------------------------------------------------
# Serialisation helpers
# ---------------------------------------------------------------------------------------------

meta <- function(calls, ...) {
  c(list(
    generator = "tests/psychometrics/r/generate_cfa_oracles.R",
    r_version = R.version.string,
    lavaan = as.character(packageVersion("lavaan")),
    semTools = as.character(packageVersion("semTools")),
    psych = as.character(packageVersion("psych")),
    jsonlite = as.character(packageVersion("jsonlite")),
    date = format(Sys.time(), "%Y-%m-%dT%H:%M:%S%z"),
    lavaan_call = calls
  ), list(...))
}

# A plain data.frame with character (not factor) columns and no row names.
plain <- function(d) {
  d <- as.data.frame(d, stringsAsFactors = FALSE)
  class(d) <- "data.frame"
  for (col in names(d)) if (is.factor(d[[col]])) d[[col]] <- as.character(d[[col]])
  rownames(d) <- NULL
  d
}

named_matrix <- function(m) {
  nm <- rownames(m)
  m <- matrix(as.numeric(unclass(m)), nrow = nrow(m), ncol = ncol(m))
  list(names = nm, values = m)
}

named_list <- function(x) as.list(unclass(x))

write_oracle <- function(x, name) {
  path <- file.path(EXPECTED_DIR, name)
  writeLines(toJSON(x, auto_unbox = TRUE, digits = NA, na = "null", null = "null",
                    pretty = TRUE, matrix = "rowmajor", dataframe = "rows"), path)
  message("wrote ", path)
}

# Write a data set (an existing file is kept when overwrite = FALSE). Callers read the CSV back
# and fit that, so the oracles hold for exactly the committed numbers (15 significant digits).
write_data <- function(d, name, overwrite = TRUE) {
  path <- file.path(DATA_DIR, name)
  if (overwrite || !file.exists(path)) {
    write.csv(d, path, row.names = FALSE, na = "")
    message("wrote ", path)
  } else {
    message("kept existing ", path)
  }
  path
}

fit_options <- function(fit) {
  o <- lavInspect(fit, "options")
  o[c("estimator", "likelihood", "information", "h1.information", "observed.information", "se",
      "test", "missing", "std.lv", "meanstructure", "sample.cov.rescale", "optim.method",
      "start", "group.equal", "auto.fix.first", "auto.var", "auto.cov.lv.x")]
}

estimates <- function(fit) plain(parameterEstimates(fit, remove.nonfree = FALSE))

std_solution <- function(fit, type) plain(standardizedSolution(fit, type = type))

mod_indices <- function(fit) {
  mi <- plain(modindices(fit, sort. = FALSE))
  keep <- intersect(c("lhs", "op", "rhs", "block", "group", "level", "mi", "epc", "sepc.lv",
                      "sepc.all", "sepc.nox"), names(mi))
  mi[, keep]
}

par_table <- function(fit) {
  pt <- plain(parTable(fit))
  keep <- intersect(c("id", "lhs", "op", "rhs", "user", "block", "group", "free", "ustart",
                      "exo", "label", "plabel", "start", "est", "se"), names(pt))
  pt[, keep]
}

fit_core <- function(fit, call) {
  list(
    call = call,
    converged = lavInspect(fit, "converged"),
    iterations = lavInspect(fit, "iterations"),
    post_check = suppressWarnings(lavInspect(fit, "post.check")),
    nobs = lavInspect(fit, "nobs"),
    options = fit_options(fit),
    fit_measures = named_list(fitMeasures(fit)),
    estimates = estimates(fit),
    partable = par_table(fit)
  )
}

# Fit and keep every warning text lavaan emits.
fit_capturing <- function(expr) {
  warnings <- character(0)
  fit <- withCallingHandlers(expr, warning = function(w) {
    warnings <<- c(warnings, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  list(fit = fit, warnings = warnings)
}


# ---------------------------------------------------------------------------------------------
# 1. Holzinger-Swineford, single group: marker identification and std.lv = TRUE
# ---------------------------------------------------------------------------------------------

HS <- lavaan::HolzingerSwineford1939
hs_csv <- write_data(HS, "holzinger_swineford_1939.csv", overwrite = FALSE)

hs_single <- function(std_lv) {
  call <- if (std_lv) "cfa(model, data = HolzingerSwineford1939, std.lv = TRUE)" else
    "cfa(model, data = HolzingerSwineford1939)"
  captured <- fit_capturing(cfa(HS_MODEL, data = HS, std.lv = std_lv))
  fit <- captured$fit
  core <- fit_core(fit, call)
  alpha <- sapply(names(HS_FACTORS), function(f) suppressMessages(
    psych::alpha(HS[, HS_FACTORS[[f]]], warnings = FALSE)$total$raw_alpha))
  list(
    meta = meta(call, identification = if (std_lv) "std.lv (factor variances fixed to 1)" else
      "marker (first loading fixed to 1)"),
    model = HS_MODEL,
    data = list(source = "lavaan::HolzingerSwineford1939", file = hs_csv, n = nrow(HS),
                variables = HS_ITEMS),
    warnings = I(captured$warnings),
    fit = c(core, list(
      std_all = std_solution(fit, "std.all"),
      std_lv = std_solution(fit, "std.lv"),
      modindices = mod_indices(fit),
      vcov = named_matrix(lavInspect(fit, "vcov")),
      sample_cov_n = named_matrix(lavInspect(fit, "sampstat")$cov),
      sample_mean = named_list(colMeans(HS[, HS_ITEMS])),
      implied_cov = named_matrix(lavInspect(fit, "implied")$cov),
      residual_cov_raw = named_matrix(lavResiduals(fit, type = "raw")$cov),
      residual_cor_bollen = named_matrix(lavResiduals(fit, type = "cor.bollen")$cov)
    )),
    reliability = list(
      compRelSEM = named_list(setNames(as.numeric(compRelSEM(fit)), names(HS_FACTORS))),
      compRelSEM_call = "semTools::compRelSEM(fit)  # obs.var = TRUE: denominator is the observed total-score variance",
      compRelSEM_implied = named_list(setNames(as.numeric(compRelSEM(fit, obs.var = FALSE)),
                                               names(HS_FACTORS))),
      compRelSEM_implied_call = "semTools::compRelSEM(fit, obs.var = FALSE)  # model-implied total-score variance",
      compRelSEM_tau_eq = named_list(setNames(as.numeric(compRelSEM(fit, tau.eq = TRUE)),
                                              names(HS_FACTORS))),
      compRelSEM_tau_eq_call = "semTools::compRelSEM(fit, tau.eq = TRUE)  # coefficient alpha from the model",
      AVE = named_list(setNames(as.numeric(AVE(fit)), names(HS_FACTORS))),
      AVE_call = "semTools::AVE(fit)",
      psych_alpha = named_list(alpha),
      psych_alpha_call = "psych::alpha(HolzingerSwineford1939[, items])$total$raw_alpha"
    ),
    htmt = list(
      htmt2 = named_matrix(htmt(HS_MODEL, data = HS, htmt2 = TRUE)),
      htmt2_call = "semTools::htmt(model, data = HolzingerSwineford1939)  # htmt2 = TRUE (default): geometric means",
      htmt = named_matrix(htmt(HS_MODEL, data = HS, htmt2 = FALSE)),
      htmt_call = "semTools::htmt(model, data = HolzingerSwineford1939, htmt2 = FALSE)  # arithmetic means"
    )
  )
}

write_oracle(hs_single(std_lv = FALSE), "cfa_hs_full.json")
write_oracle(hs_single(std_lv = TRUE), "cfa_hs_stdlv.json")


# ---------------------------------------------------------------------------------------------
# 2. Measurement invariance across school
# ---------------------------------------------------------------------------------------------

levels_equal <- list(
  configural = character(0),
  metric = "loadings",
  scalar = c("loadings", "intercepts"),
  strict = c("loadings", "intercepts", "residuals")
)
inv_call <- function(eq) {
  if (length(eq) == 0) return('cfa(model, data = HolzingerSwineford1939, group = "school")')
  sprintf('cfa(model, data = HolzingerSwineford1939, group = "school", group.equal = c(%s))',
          paste0('"', eq, '"', collapse = ", "))
}
inv_fits <- lapply(levels_equal, function(eq) {
  if (length(eq) == 0) eq <- ""  # lavaan's default: no equality constraints
  cfa(HS_MODEL, data = HS, group = "school", group.equal = eq)
})
inv_levels <- mapply(function(fit, eq) {
  core <- fit_core(fit, inv_call(eq))
  core$std_all <- std_solution(fit, "std.all")
  core$sample_cov_n <- lapply(lavInspect(fit, "sampstat"), function(s) named_matrix(s$cov))
  core$sample_mean <- lapply(lavInspect(fit, "sampstat"), function(s) named_list(s$mean))
  core
}, inv_fits, levels_equal, SIMPLIFY = FALSE)

lrt_table <- function(tab) {
  tab <- as.data.frame(tab)
  out <- data.frame(model = rownames(tab), df = tab[["Df"]], aic = tab[["AIC"]],
                    bic = tab[["BIC"]], chisq = tab[["Chisq"]],
                    chisq_diff = tab[["Chisq diff"]], df_diff = tab[["Df diff"]],
                    pvalue = tab[["Pr(>Chisq)"]], stringsAsFactors = FALSE)
  rownames(out) <- NULL
  out
}
lrt <- lavTestLRT(inv_fits$configural, inv_fits$metric, inv_fits$scalar, inv_fits$strict,
                  model.names = names(inv_fits))

write_oracle(list(
  meta = meta(unname(sapply(levels_equal, inv_call)),
              lrt_call = "lavTestLRT(configural, metric, scalar, strict)",
              note = paste("Groups are in order of appearance in the data, as lavaan orders them;",
                           "group 1 is the first school in HolzingerSwineford1939 (Pasteur).")),
  model = HS_MODEL,
  data = list(source = "lavaan::HolzingerSwineford1939", file = hs_csv, n = nrow(HS),
              group = "school", variables = HS_ITEMS),
  group_labels = lavInspect(inv_fits$configural, "group.label"),
  levels = inv_levels,
  lrt = lrt_table(lrt),
  lrt_note = paste("Rows are sorted by df as lavTestLRT sorts them; chisq_diff, df_diff and",
                   "pvalue compare each row with the row above (standard chi-square difference).")
), "cfa_hs_invariance.json")


# ---------------------------------------------------------------------------------------------
# 3. Full-information ML with MCAR missingness
# ---------------------------------------------------------------------------------------------

FIML_SEED <- 20240611L
FIML_SHARE <- 0.10
set.seed(FIML_SEED)
hs_missing <- HS
item_cells <- as.matrix(HS[, HS_ITEMS])
n_missing <- round(FIML_SHARE * length(item_cells))
item_cells[sample.int(length(item_cells), n_missing)] <- NA
hs_missing[, HS_ITEMS] <- item_cells
fiml_csv <- write_data(hs_missing, "hs_missing.csv")
hs_missing <- read.csv(fiml_csv)

fiml_call <- 'cfa(model, data = hs_missing, missing = "ml")'
fiml_fit <- cfa(HS_MODEL, data = hs_missing, missing = "ml")
fiml_exp_call <- 'cfa(model, data = hs_missing, missing = "ml", information = "expected")'
fiml_exp_fit <- cfa(HS_MODEL, data = hs_missing, missing = "ml", information = "expected")
fiml_info <- lavInspect(fiml_fit, "options")$information

fiml_block <- function(fit, call) {
  core <- fit_core(fit, call)
  core$std_all <- std_solution(fit, "std.all")
  core$vcov <- named_matrix(lavInspect(fit, "vcov"))
  core$implied_cov <- named_matrix(lavInspect(fit, "implied")$cov)
  core$implied_mean <- named_list(lavInspect(fit, "implied")$mean)
  core
}
fiml_h1 <- lavInspect(fiml_fit, "sampstat")

write_oracle(list(
  meta = meta(c(fiml_call, fiml_exp_call), seed = FIML_SEED, rng_kind = RNG_KIND,
              missingness = paste0(
                "MCAR: after set.seed(", FIML_SEED, "), sample.int(", length(item_cells), ", ",
                n_missing, ") picks the cells of the 301 x 9 matrix x1..x9 (column-major) that ",
                "are set to NA; the CSV is written with empty cells for NA and read back before ",
                "fitting.")),
  model = HS_MODEL,
  data = list(file = fiml_csv, n = nrow(hs_missing), variables = HS_ITEMS,
              n_missing_cells = n_missing,
              missing_per_variable = named_list(colSums(is.na(hs_missing[, HS_ITEMS]))),
              complete_rows = sum(complete.cases(hs_missing[, HS_ITEMS])),
              n_patterns = nrow(lavInspect(fiml_fit, "patterns")),
              coverage = named_matrix(lavInspect(fiml_fit, "coverage"))),
  information_used = fiml_info,
  information_note = paste0("lavInspect(fit, \"options\")$information is c(\"",
                            paste(fiml_info, collapse = "\", \""),
                            "\") (for standard errors, for the test statistic); ",
                            "`fit_expected` refits with information = \"expected\"."),
  h1_em = list(cov = named_matrix(fiml_h1$cov), mean = named_list(fiml_h1$mean),
               note = "unrestricted (saturated) ML estimates by EM: lavInspect(fit, \"sampstat\")"),
  fit = fiml_block(fiml_fit, fiml_call),
  fit_expected = fiml_block(fiml_exp_fit, fiml_exp_call)
), "cfa_fiml_hs.json")


# ---------------------------------------------------------------------------------------------
# 4. Second-order model on simulated data
# ---------------------------------------------------------------------------------------------

SO_SEED <- 19390301L
SO_N <- 500L
set.seed(SO_SEED)
# Population: g1 -> f1, f2, f3 (standardised loadings .80 .70 .60); g2 -> f4, f5 (.75 .75);
# cor(g1, g2) = .40; every first-order factor has items with standardised loadings .80 .70 .60.
so_pop <- list(second_order = c(f1 = 0.80, f2 = 0.70, f3 = 0.60, f4 = 0.75, f5 = 0.75),
               cor_g1_g2 = 0.40, item_loadings = c(0.80, 0.70, 0.60))
g1 <- rnorm(SO_N)
g2 <- so_pop$cor_g1_g2 * g1 + sqrt(1 - so_pop$cor_g1_g2^2) * rnorm(SO_N)
second <- so_pop$second_order
first <- cbind(second[1] * g1, second[2] * g1, second[3] * g1, second[4] * g2, second[5] * g2)
first <- first + sweep(matrix(rnorm(SO_N * 5), SO_N), 2, sqrt(1 - second^2), "*")
items <- do.call(cbind, lapply(1:5, function(k) sapply(so_pop$item_loadings, function(l)
  l * first[, k] + sqrt(1 - l^2) * rnorm(SO_N))))
colnames(items) <- paste0("y", 1:15)
so_csv <- write_data(as.data.frame(items), "second_order_sim.csv")
so_data <- read.csv(so_csv)

SO_FIRST <- "f1 =~ y1 + y2 + y3
f2 =~ y4 + y5 + y6
f3 =~ y7 + y8 + y9
f4 =~ y10 + y11 + y12
f5 =~ y13 + y14 + y15"
SO_MODEL <- paste(SO_FIRST, "g1 =~ f1 + f2 + f3", "g2 =~ a*f4 + a*f5", sep = "\n")
SO_MODEL_FREE <- paste(SO_FIRST, "g1 =~ f1 + f2 + f3", "g2 =~ NA*f4 + a*f4 + a*f5",
                       "g2 ~~ 1*g2", sep = "\n")

so_block <- function(model, call) {
  captured <- fit_capturing(cfa(model, data = so_data))
  fit <- captured$fit
  core <- fit_core(fit, call)
  core$model <- model
  core$warnings <- I(captured$warnings)
  core$std_all <- std_solution(fit, "std.all")
  core$std_lv <- std_solution(fit, "std.lv")
  core$implied_cov <- named_matrix(lavInspect(fit, "implied")$cov)
  core
}

write_oracle(list(
  meta = meta(c("cfa(model_as_written, data = second_order_sim)",
                "cfa(model_equal_free, data = second_order_sim)"),
              seed = SO_SEED, rng_kind = RNG_KIND,
              simulation = paste("g1, g2 standard normal with correlation .40; each first-order",
                                 "factor = loading * its g + sqrt(1 - loading^2) * N(0, 1); each",
                                 "item = loading * its factor + sqrt(1 - loading^2) * N(0, 1).",
                                 "Draw order: g1, g2's residual, the 500 x 5 factor residuals",
                                 "(column-major), then items factor by factor, item by item."),
              population = so_pop),
  data = list(file = so_csv, n = SO_N, variables = colnames(items)),
  note = paste("`as_written` is `g2 =~ a*f4 + a*f5` under marker identification: lavaan fixes the",
               "first loading to 1 and, because the second shares its label, fixes it to 1 too;",
               "var(g2) is then free. `equal_free` frees the first loading, fixes var(g2) = 1 and",
               "estimates the common loading `a`. The two are equivalent: same npar, chisq and df."),
  as_written = so_block(SO_MODEL, "cfa(model_as_written, data = second_order_sim)"),
  equal_free = so_block(SO_MODEL_FREE, "cfa(model_equal_free, data = second_order_sim)")
), "cfa_second_order.json")


# ---------------------------------------------------------------------------------------------
# 5. Equality constraint through a shared label
# ---------------------------------------------------------------------------------------------

EQ_MODEL <- "visual  =~ x1 + a*x2 + a*x3
textual =~ x4 + x5 + x6
speed   =~ x7 + x8 + x9"
eq_call <- "cfa(model, data = HolzingerSwineford1939)"
eq_fit <- cfa(EQ_MODEL, data = HS)
free_fit <- cfa(HS_MODEL, data = HS)
eq_core <- fit_core(eq_fit, eq_call)
eq_core$std_all <- std_solution(eq_fit, "std.all")
eq_core$modindices <- mod_indices(eq_fit)
eq_lrt <- lavTestLRT(free_fit, eq_fit, model.names = c("free", "equal"))

write_oracle(list(
  meta = meta(eq_call, lrt_call = "lavTestLRT(free, equal)"),
  model = EQ_MODEL,
  data = list(source = "lavaan::HolzingerSwineford1939", file = hs_csv, n = nrow(HS),
              variables = HS_ITEMS),
  npar_unconstrained = unname(fitMeasures(free_fit, "npar")),
  fit = eq_core,
  lrt_vs_unconstrained = lrt_table(eq_lrt)
), "cfa_equality_labels.json")


# ---------------------------------------------------------------------------------------------
# 6. A Heywood case: negative residual variance
# ---------------------------------------------------------------------------------------------

HW_SEED <- 5L
HW_N <- 200L
# A population that is a two-factor model except that x1's standardised loading is 1.095 > 1:
# Sigma = Lambda Phi Lambda' with its diagonal set to 1, so the residual variance of h1 is
# 1 - 1.095^2 = -0.199 and the ML solution reproduces it (lavaan warns, post.check is FALSE).
hw_lambda <- matrix(0, 6, 2)
hw_lambda[1:3, 1] <- c(1.095, 0.548, 0.548)
hw_lambda[4:6, 2] <- 0.70
hw_phi <- matrix(c(1, 0.40, 0.40, 1), 2)
hw_r <- hw_lambda %*% hw_phi %*% t(hw_lambda)
diag(hw_r) <- 1
stopifnot(min(eigen(hw_r, symmetric = TRUE)$values) > 0)
set.seed(HW_SEED)
hw_data <- MASS::mvrnorm(HW_N, mu = rep(0, 6), Sigma = hw_r, empirical = TRUE)
colnames(hw_data) <- paste0("h", 1:6)
hw_csv <- write_data(as.data.frame(hw_data), "heywood_sim.csv")
hw_data <- read.csv(hw_csv)

HW_MODEL <- "f1 =~ h1 + h2 + h3
f2 =~ h4 + h5 + h6"
hw_call <- "cfa(model, data = heywood_sim)"
hw_captured <- fit_capturing(cfa(HW_MODEL, data = hw_data))
hw_core <- fit_core(hw_captured$fit, hw_call)
hw_core$std_all <- std_solution(hw_captured$fit, "std.all")

write_oracle(list(
  meta = meta(hw_call, seed = HW_SEED, rng_kind = RNG_KIND,
              simulation = paste("MASS::mvrnorm(200, mu = 0, Sigma = R, empirical = TRUE): the",
                                 "sample correlation matrix (n - 1 divisor) equals R exactly."),
              population_loadings = hw_lambda, population_factor_cor = hw_phi,
              population_cor = hw_r),
  model = HW_MODEL,
  data = list(file = hw_csv, n = HW_N, variables = colnames(hw_data)),
  warnings = I(hw_captured$warnings),
  fit = hw_core
), "cfa_heywood.json")
