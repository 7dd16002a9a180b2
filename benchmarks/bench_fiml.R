# FIML benchmark, lavaan side (called by bench_fiml.py, one case per Rscript process).
#
#   Rscript benchmarks/bench_fiml.R export-bfi <out.csv>
#       writes psych::bfi's 25 items (N = 2,800, with their natural missing values)
#   Rscript benchmarks/bench_fiml.R fit <data.csv> <model.lav> <out.json>
#       lavaan::cfa(model, data, missing = "ml") + fitMeasures() + parameterEstimates(),
#       timed inside R; reading the CSV is timed separately.
#
# R is not a project dependency: this script is only run when Rscript is on PATH.
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
if (args[1] == "export-bfi") {
  suppressPackageStartupMessages(library(psych))
  items <- psych::bfi[, 1:25]
  write.csv(items, args[2], row.names = FALSE, na = "")
  quit(save = "no")
}
stopifnot(args[1] == "fit", length(args) == 4)
t0 <- proc.time()[["elapsed"]]
data <- read.csv(args[2])
t1 <- proc.time()[["elapsed"]]
model <- paste(readLines(args[3]), collapse = "\n")
fit <- cfa(model, data = data, missing = "ml")
fm <- fitMeasures(fit, c("chisq", "df", "logl", "unrestricted.logl", "cfi", "tli", "rmsea",
                         "srmr"))
pe <- parameterEstimates(fit)
t2 <- proc.time()[["elapsed"]]
out <- list(
  lavaan = as.character(packageVersion("lavaan")),
  r = R.version.string,
  read_csv_seconds = t1 - t0,
  seconds = t2 - t1,
  converged = lavInspect(fit, "converged"),
  iterations = lavInspect(fit, "iterations"),
  information = lavInspect(fit, "options")$information,
  patterns = nrow(lavInspect(fit, "patterns")),
  fit = as.list(fm),
  estimates = pe[, c("lhs", "op", "rhs", "est", "se")]
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE), args[4])
