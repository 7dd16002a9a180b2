#!/usr/bin/env Rscript
# Golden reference values from R's lavaan for second-order CFAs shaped like the IEM-DP model.
#
# Run from the repository root:
#
#     Rscript tests/psychometrics/r/generate_cfa_second_order_oracles.R
#
# Writes tests/psychometrics/data/second_order_iemdp_sim.csv and
# tests/psychometrics/expected/cfa_second_order_iemdp.json. R is a tool for producing these files
# only, never a dependency of the project: both files are committed and the Python tests read them.
#
# The data: five constructs of the IEM-DP instrument (OE, SE, RR, UT, TC) over twelve
# subconstructs, three items each (36 items, N = 500). Three of the constructs have only two
# first-order indicators, and four subconstructs (RR_RUP, UT_LAP, TC_FIN) have their high pole
# opposite to their construct, so their second-order loadings are negative; RR_RUP and TC_FIN
# are the *markers* of their construct, so under marker identification the other loading of RR
# and TC is negative. This is the structure on which a start with all second-order loadings at +1
# ends in an improper solution (negative construct variances).
#
# Fits (all `cfa()` defaults: ML, nlminb, expected-information SEs):
# - `marker`: the model as the benchmarks write it (first loading of every factor fixed to 1);
# - `instrument`: as instruments/measurement_model writes it, the loadings of the two-indicator
#   constructs fixed to +-1 and their variance free.
#
# Conventions as in generate_cfa_oracles.R: tables are arrays of row objects with lavaan's column
# names, fitMeasures keyed by lavaan's names, NA/NaN/Inf as null, numbers with 15 significant
# digits, `meta` with the R and package versions, date, RNG kind and seed.

suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})

if (!dir.exists("tests") || !file.exists("pyproject.toml")) {
  stop("run from the repository root: Rscript tests/psychometrics/r/generate_cfa_second_order_oracles.R")
}
EXPECTED_DIR <- file.path("tests", "psychometrics", "expected")
DATA_DIR <- file.path("tests", "psychometrics", "data")

RNG_KIND <- c("Mersenne-Twister", "Inversion", "Rejection")
RNGkind(RNG_KIND[1], RNG_KIND[2], RNG_KIND[3])
SEED <- 20261123L
N <- 500L

plain <- function(d) {
  d <- as.data.frame(d, stringsAsFactors = FALSE)
  class(d) <- "data.frame"
  for (col in names(d)) if (is.factor(d[[col]])) d[[col]] <- as.character(d[[col]])
  rownames(d) <- NULL
  d
}

# ---------------------------------------------------------------------------------------------
# Population and simulation
# ---------------------------------------------------------------------------------------------

constructs <- list(OE = c("OE_BEN", "OE_MOD"),
                   SE = c("SE_ACT", "SE_MAIN", "SE_REC"),
                   RR = c("RR_RUP", "RR_REP"),
                   UT = c("UT_SEL", "UT_LAP", "UT_RES"),
                   TC = c("TC_FIN", "TC_TIME"))
subs <- unlist(constructs, use.names = FALSE)
construct_of <- rep(names(constructs), lengths(constructs))
# Standardised second-order loadings (negative: high pole opposite to the construct).
gamma <- c(OE_BEN = 0.80, OE_MOD = 0.70, SE_ACT = 0.75, SE_MAIN = 0.70, SE_REC = 0.65,
           RR_RUP = -0.70, RR_REP = 0.75, UT_SEL = 0.70, UT_LAP = -0.60, UT_RES = 0.75,
           TC_FIN = -0.65, TC_TIME = 0.70)
phi <- matrix(c(1.00, 0.45, 0.30, 0.35, 0.20,
                0.45, 1.00, 0.25, 0.40, 0.15,
                0.30, 0.25, 1.00, 0.30, 0.25,
                0.35, 0.40, 0.30, 1.00, 0.20,
                0.20, 0.15, 0.25, 0.20, 1.00), 5, 5,
              dimnames = list(names(constructs), names(constructs)))
# Standardised item loadings, 3 per subconstruct, and the items' means and standard deviations.
item_loadings <- c(0.80, 0.70, 0.60)
items <- as.vector(sapply(subs, function(s) paste0(s, "_", 1:3)))

set.seed(SEED)
eta <- matrix(rnorm(N * 5), N, 5) %*% chol(phi)
colnames(eta) <- names(constructs)
xi <- sapply(subs, function(s) gamma[[s]] * eta[, construct_of[subs == s]] +
               sqrt(1 - gamma[[s]]^2) * rnorm(N))
z <- do.call(cbind, lapply(subs, function(s) sapply(item_loadings, function(l)
  l * xi[, s] + sqrt(1 - l^2) * rnorm(N))))
item_mean <- round(runif(length(items), 2.5, 4), 2)
item_sd <- round(runif(length(items), 0.7, 1.3), 2)
x <- sweep(sweep(z, 2, item_sd, "*"), 2, item_mean, "+")
colnames(x) <- items
csv <- file.path(DATA_DIR, "second_order_iemdp_sim.csv")
write.csv(as.data.frame(x), csv, row.names = FALSE)
message("wrote ", csv)
data <- read.csv(csv)  # fit exactly the committed numbers

# ---------------------------------------------------------------------------------------------
# Models and fits
# ---------------------------------------------------------------------------------------------

first_order <- paste(sapply(subs, function(s) paste0(s, " =~ ", paste0(s, "_", 1:3, collapse = " + "))),
                     collapse = "\n")
MARKER <- paste(first_order,
                "OE =~ OE_BEN + OE_MOD",
                "SE =~ SE_ACT + SE_MAIN + SE_REC",
                "RR =~ RR_RUP + RR_REP",
                "UT =~ UT_SEL + UT_LAP + UT_RES",
                "TC =~ TC_FIN + TC_TIME", sep = "\n")
INSTRUMENT <- paste(first_order,
                    "OE =~ 1*OE_BEN + 1*OE_MOD",
                    "SE =~ 1*SE_ACT + SE_MAIN + SE_REC",
                    "RR =~ -1*RR_RUP + 1*RR_REP",
                    "UT =~ 1*UT_SEL + UT_LAP + UT_RES",
                    "TC =~ -1*TC_FIN + 1*TC_TIME", sep = "\n")

fit_block <- function(model, call, modindices = FALSE) {
  warnings <- character(0)
  fit <- withCallingHandlers(cfa(model, data = data), warning = function(w) {
    warnings <<- c(warnings, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  pt <- plain(parTable(fit))
  out <- list(
    call = call,
    model = model,
    converged = lavInspect(fit, "converged"),
    iterations = lavInspect(fit, "iterations"),
    warnings = I(warnings),
    fit_measures = as.list(unclass(fitMeasures(fit))),
    estimates = plain(parameterEstimates(fit, remove.nonfree = FALSE)),
    std_all = plain(standardizedSolution(fit, type = "std.all")),
    partable = pt[, intersect(c("id", "lhs", "op", "rhs", "free", "ustart", "start", "est", "se"),
                              names(pt))]
  )
  if (modindices) {
    mi <- plain(modindices(fit, sort. = FALSE))
    out$modindices <- mi[, intersect(c("lhs", "op", "rhs", "mi", "epc", "sepc.lv", "sepc.all"),
                                     names(mi))]
  }
  out
}

oracle <- list(
  meta = list(
    generator = "tests/psychometrics/r/generate_cfa_second_order_oracles.R",
    r_version = R.version.string,
    lavaan = as.character(packageVersion("lavaan")),
    jsonlite = as.character(packageVersion("jsonlite")),
    date = format(Sys.time(), "%Y-%m-%dT%H:%M:%S%z"),
    seed = SEED, rng_kind = RNG_KIND,
    lavaan_call = c("cfa(marker, data = second_order_iemdp_sim)",
                    "cfa(instrument, data = second_order_iemdp_sim)"),
    simulation = paste("construct scores eta = N(0, 1)^(N x 5) %*% chol(phi); subconstruct",
                       "xi_s = gamma_s * eta_c(s) + sqrt(1 - gamma_s^2) * N(0, 1); item",
                       "z = l * xi_s + sqrt(1 - l^2) * N(0, 1), l = .80, .70, .60; x = mean + sd * z.",
                       "Draw order: eta, xi column by column, items subconstruct by subconstruct,",
                       "then the item means (runif 2.5..4) and sds (runif 0.7..1.3), rounded to 2 dp."),
    population = list(gamma = as.list(gamma), phi = list(names = rownames(phi), values = unname(phi)),
                      item_loadings = item_loadings)
  ),
  data = list(file = csv, n = N, variables = items),
  marker = fit_block(MARKER, "cfa(marker, data = second_order_iemdp_sim)", modindices = TRUE),
  instrument = fit_block(INSTRUMENT, "cfa(instrument, data = second_order_iemdp_sim)")
)
path <- file.path(EXPECTED_DIR, "cfa_second_order_iemdp.json")
writeLines(toJSON(oracle, auto_unbox = TRUE, digits = NA, na = "null", null = "null",
                  pretty = TRUE, matrix = "rowmajor", dataframe = "rows"), path)
message("wrote ", path)
