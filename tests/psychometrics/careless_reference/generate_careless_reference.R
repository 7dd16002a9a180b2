# Reference values for psychometrics/careless.py from R's careless package.
#
# careless is not packaged by Debian and CRAN is not reachable from the build machines, so this
# script sources the package's R files from a checkout of its repository (github ryentes/careless,
# version 1.2.2; the commit is recorded in the output) instead of library(careless). careless
# imports only psych, which Debian packages. Run from the repository root:
#
#     Rscript tests/psychometrics/careless_reference/generate_careless_reference.R \
#         /path/to/careless-checkout [commit]
#
# Needs R with psych and jsonlite (Debian: r-base-core r-cran-psych r-cran-jsonlite). R is never a
# runtime or test dependency: the two files this writes are committed and the Python tests read
# them.
#
# Writes (next to this script)
#   careless_data.csv       simulated 1..5 Likert answers, 240 rows x 14 items, with NAs
#   careless_expected.json  careless::longstring(avg = TRUE), irv(split = TRUE, num.split = 3, 4),
#                           mahad(flag = TRUE, confidence = .999) and stats::mahalanobis on the
#                           complete rows, evenodd(diag = TRUE) on the reverse-keyed items,
#                           psychsyn(diag = TRUE, resample_na = FALSE) synonyms and antonyms with
#                           the pairs (psychsyn_critval), and cut(seq_len(k), s, labels = FALSE)
#                           for k = 2..100, s = 2..min(k, 10) (how irv splits the items; cut()
#                           refuses s = 1)

suppressPackageStartupMessages({
  library(psych)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 1) stop("usage: generate_careless_reference.R CARELESS_CHECKOUT [COMMIT]")
src <- args[[1]]
commit <- if (length(args) >= 2) args[[2]] else NA
here <- "tests/psychometrics/careless_reference"
if (!dir.exists(here)) stop("run from the repository root (", here, " not found)")

for (f in c("longstring.R", "irv.R", "mahad.R", "evenodd.R", "psychsyn.R", "psychsyn_critval.R")) {
  source(file.path(src, "R", f))
}
careless_version <- read.dcf(file.path(src, "DESCRIPTION"), fields = "Version")[[1]]

# ---------------------------------------------------------------- data
# Four scales: A (a1..a5, a4 reverse-worded), B (b1..b4, b2 reverse-worded), C (c1..c4, c3
# reverse-worded), D (d1 alone: a one-item scale for even-odd). Correlated latent traits, 1..5
# responses by thresholds. Rows 1-12 straight lines, 13-24 uniform random, 25-30 alternating
# 1/5 or 2/4; about 3 % of the other rows' cells missing completely at random.
set.seed(20260309)
n <- 240
items <- c(paste0("a", 1:5), paste0("b", 1:4), paste0("c", 1:4), "d1")
scale_of <- c(rep(1, 5), rep(2, 4), rep(3, 4), 4)
loading <- c(0.9, 0.9, 0.9, -0.9, 0.9, 0.9, -0.9, 0.9, 0.9, 0.6, 0.65, -0.6, 0.6, 0.7)
phi <- matrix(0.3, 4, 4)
diag(phi) <- 1
eta <- matrix(rnorm(n * 4), n, 4) %*% chol(phi)
latent <- sweep(eta[, scale_of], 2, loading, "*") +
  sweep(matrix(rnorm(n * 14), n, 14), 2, sqrt(1 - loading^2), "*")
x <- matrix(findInterval(latent, c(-1.5, -0.5, 0.5, 1.5)) + 1, n, 14)
x[1:12, ] <- matrix(sample(1:5, 12, replace = TRUE), 12, 14)
x[13:24, ] <- matrix(sample(1:5, 12 * 14, replace = TRUE), 12, 14)
for (i in 25:30) {
  pair <- if (i %% 2 == 0) c(1, 5) else c(2, 4)
  x[i, ] <- rep(pair, 7)
}
cells <- which(row(x) > 30)
x[sample(cells, round(0.03 * length(cells)))] <- NA
colnames(x) <- items
data <- as.data.frame(x)
write.csv(data, file.path(here, "careless_data.csv"), row.names = FALSE, na = "")

reverse <- c("a4", "b2", "c3")
keyed <- data
keyed[reverse] <- 6 - keyed[reverse]
factors <- c(5, 4, 4, 1)

# ---------------------------------------------------------------- indices
ls <- longstring(data, avg = TRUE)
irv3 <- irv(data, split = TRUE, num.split = 3)
irv4 <- irv(data, split = TRUE, num.split = 4)

complete <- complete.cases(data)
cc <- data[complete, ]
md <- mahad(cc, plot = FALSE, flag = TRUE, confidence = 0.999)
d2_stats <- stats::mahalanobis(cc, colMeans(cc), cov(cc))

eo <- suppressWarnings(evenodd(keyed, factors, diag = TRUE))

syn_pairs <- get_item_pairs(as.matrix(data), 0.60, anto = FALSE)
syn <- psychsyn(data, 0.60, anto = FALSE, diag = TRUE, resample_na = FALSE)
ant_pairs <- get_item_pairs(as.matrix(data), 0.50, anto = TRUE)
ant <- psychsyn(data, 0.50, anto = TRUE, diag = TRUE, resample_na = FALSE)
pairs_json <- function(p) {
  r <- cor(data, use = "pairwise.complete.obs")
  lapply(seq_len(nrow(p)), function(i) {
    a <- as.character(p[i, 1])
    b <- as.character(p[i, 2])
    list(var1 = a, var2 = b, r = r[a, b])
  })
}

cuts <- list()
for (k in 2:100) for (s in 2:min(k, 10)) {
  cuts[[length(cuts) + 1]] <- list(k = k, s = s, part = cut(seq_len(k), s, labels = FALSE))
}

out <- list(
  meta = list(
    generated_by = "tests/psychometrics/careless_reference/generate_careless_reference.R",
    r_version = R.version.string,
    careless_version = careless_version,
    careless_source = "github ryentes/careless, R/*.R sourced (not installed)",
    careless_commit = commit,
    psych_version = as.character(packageVersion("psych")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    rng = RNGkind(),
    seed = 20260309,
    data = "careless_data.csv",
    reverse_keyed_for_evenodd = reverse,
    factors = factors,
    date = format(Sys.Date())
  ),
  longstring = list(longstr = ls$longstr, avgstr = ls$avgstr),
  irv = list(
    irvTotal = irv3$irvTotal,
    split3 = unname(as.list(irv3[paste0("irv", 1:3)])),
    split4 = unname(as.list(irv4[paste0("irv", 1:4)]))
  ),
  mahad = list(
    complete_rows = which(complete),
    d_sq = md$d_sq,
    flagged = md$flagged,
    cutoff = qchisq(0.999, ncol(cc)),
    stats_mahalanobis = unname(d2_stats),
    p_upper = pchisq(unname(d2_stats), ncol(cc), lower.tail = FALSE)
  ),
  # careless builds diag = TRUE as data.frame(eo_cor, eo_missing) with eo_missing a list, so
  # each person's count lands in a column of its own (recycled down the rows): read row 1.
  evenodd = list(eo_cor = eo$eo_cor, eo_missing = as.numeric(eo[1, -1])),
  psychsyn = list(critval = 0.60, pairs = pairs_json(syn_pairs), numPairs = syn$numPairs,
                  cor = syn$cor),
  psychant = list(critval = 0.50, pairs = pairs_json(ant_pairs), numPairs = ant$numPairs,
                  cor = ant$cor),
  cut = cuts
)
path <- file.path(here, "careless_expected.json")
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), path)
cat("wrote", path, "\n")
