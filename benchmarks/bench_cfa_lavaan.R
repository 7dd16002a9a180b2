# lavaan side of benchmarks/bench_cfa.py: called by it, not meant to be run alone.
#
#     Rscript benchmarks/bench_cfa_lavaan.R <data.csv> <model.lav> <repeats> <out.json>
#
# Times, inside R, cfa() + fitMeasures() + modindices() (ML, default options; standard errors are
# part of cfa()), `repeats` times, each phase with system.time(). R start-up with loading lavaan, and reading the CSV, are timed
# separately. Writes the timings, the fit of the last repeat and the implied covariance matrix.
t_start <- proc.time()[["elapsed"]]
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})
t_loaded <- proc.time()[["elapsed"]]

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 4) stop("usage: bench_cfa_lavaan.R <data.csv> <model.lav> <repeats> <out.json>")
data_path <- args[[1]]
model <- paste(readLines(args[[2]]), collapse = "\n")
repeats <- as.integer(args[[3]])
out_path <- args[[4]]

t_read0 <- proc.time()[["elapsed"]]
data <- read.csv(data_path)
t_read <- proc.time()[["elapsed"]] - t_read0

elapsed <- function(expr) system.time(expr)[["elapsed"]]
phases <- list(cfa = numeric(repeats), fitMeasures = numeric(repeats),
               modindices = numeric(repeats))
warnings_seen <- character(0)
withCallingHandlers({
  for (i in seq_len(repeats)) {
    phases$cfa[i] <- elapsed(fit <- cfa(model, data = data))
    phases$fitMeasures[i] <- elapsed(fm <- fitMeasures(fit))
    phases$modindices[i] <- elapsed(mi <- modindices(fit))
  }
}, warning = function(w) {
  warnings_seen <<- unique(c(warnings_seen, conditionMessage(w)))
  invokeRestart("muffleWarning")
})
times <- phases$cfa + phases$fitMeasures + phases$modindices

implied <- lavInspect(fit, "implied")$cov
out <- list(
  tool = "lavaan",
  version = as.character(packageVersion("lavaan")),
  r_version = R.version.string,
  blas = extSoftVersion()[["BLAS"]],
  lapack = La_library(),
  call = "fit <- cfa(model, data); fitMeasures(fit); modindices(fit)",
  times = I(times),
  phases = lapply(phases, I),
  startup_seconds = t_loaded - t_start,
  read_csv_seconds = t_read,
  converged = lavInspect(fit, "converged"),
  iterations = lavInspect(fit, "iterations"),
  npar = unname(fm[["npar"]]),
  df = unname(fm[["df"]]),
  chisq = unname(fm[["chisq"]]),
  logl = unname(fm[["logl"]]),
  unrestricted_logl = unname(fm[["unrestricted.logl"]]),
  cfi = unname(fm[["cfi"]]),
  rmsea = unname(fm[["rmsea"]]),
  srmr = unname(fm[["srmr"]]),
  n_modindices = nrow(mi),
  warnings = I(warnings_seen),
  implied_cov = list(names = rownames(implied),
                     values = matrix(as.numeric(implied), nrow(implied)))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", matrix = "rowmajor"), out_path)
