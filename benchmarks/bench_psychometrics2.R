# lavaan side of benchmarks/bench_psychometrics2.py: one case per Rscript process.
#
#   Rscript benchmarks/bench_psychometrics2.R <case> <data.csv> <model.lav> <repeats> <out.json>
#
# case:
#   mlr           cfa(model, data, estimator = "MLR")
#   mlr-fiml      cfa(model, data, estimator = "MLR", missing = "ml")
#   wlsmv         cfa(model, data, ordered = TRUE, estimator = "WLSMV")
#   longitudinal  <data.csv> in long format (participant, wave, items); reshaped to wide here,
#                 then for configural, metric, scalar and strict:
#                 cfa(measEq.syntax(configural, data, longFacNames, longIndNames, long.equal,
#                 auto = "all"), data, meanstructure = TRUE, missing = "ml"), and lavTestLRT()
#                 of the four (as tests/psychometrics/expected/longitudinal/generate_longitudinal.R)
#
# The analysis (the fit(s) + fitMeasures() + parameterEstimates(); for longitudinal also the
# reshape, measEq.syntax() and lavTestLRT()) is timed with system.time(), `repeats` times. The
# process is also what a user would run: library(lavaan), read.csv, the analysis, the JSON
# written; the Python side measures its wall time. R start-up + library(), read.csv and writing
# the JSON are timed here too.
t_start <- proc.time()[["elapsed"]]
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 5) {
  stop("usage: bench_psychometrics2.R <case> <data.csv> <model.lav> <repeats> <out.json>")
}
case <- args[[1]]
if (case == "longitudinal") suppressPackageStartupMessages(library(semTools))
t_loaded <- proc.time()[["elapsed"]]
data <- read.csv(args[[2]])
t_read <- proc.time()[["elapsed"]]
model <- paste(readLines(args[[3]]), collapse = "\n")
repeats <- as.integer(args[[4]])
out_path <- args[[5]]

measures <- c("npar", "chisq", "df", "pvalue", "chisq.scaled", "df.scaled", "pvalue.scaled",
              "chisq.scaling.factor", "cfi", "tli", "cfi.scaled", "cfi.robust", "rmsea",
              "rmsea.scaled", "rmsea.robust", "srmr", "logl")

one_fit <- function(fit) {
  fm <- fitMeasures(fit)
  pe <- parameterEstimates(fit)
  list(
    converged = lavInspect(fit, "converged"),
    iterations = lavInspect(fit, "iterations"),
    fit = as.list(fm[intersect(measures, names(fm))]),
    estimates = pe[, c("lhs", "op", "rhs", "est", "se")]
  )
}

analyse_cross_sectional <- function() {
  fit <- switch(case,
    "mlr" = cfa(model, data = data, estimator = "MLR"),
    "mlr-fiml" = cfa(model, data = data, estimator = "MLR", missing = "ml"),
    "wlsmv" = cfa(model, data = data, ordered = TRUE, estimator = "WLSMV"),
    stop("unknown case ", case)
  )
  one_fit(fit)
}

analyse_longitudinal <- function() {
  lines <- trimws(strsplit(model, "\n")[[1]])
  lines <- lines[nzchar(lines)]
  factors <- trimws(sub("=~.*", "", lines))
  members <- setNames(lapply(sub(".*=~", "", lines), function(x) trimws(strsplit(x, "\\+")[[1]])),
                      factors)
  items <- unlist(members, use.names = FALSE)
  waves <- sort(unique(data$wave))
  ids <- unique(data$participant)
  wide <- data.frame(participant = ids)
  for (k in seq_along(waves)) {
    rows <- data[data$wave == waves[k], ]
    at <- match(ids, rows$participant)
    for (item in items) wide[[paste0(item, "_w", k)]] <- rows[[item]][at]
  }
  n_waves <- length(waves)
  configural <- paste(unlist(lapply(seq_len(n_waves), function(k) vapply(factors, function(f)
    sprintf("%s_w%d =~ %s", f, k, paste0(members[[f]], "_w", k, collapse = " + ")),
    character(1)))), collapse = "\n")
  long_factors <- setNames(lapply(factors, function(f) paste0(f, "_w", seq_len(n_waves))),
                           factors)
  long_items <- setNames(lapply(items, function(i) paste0(i, "_w", seq_len(n_waves))), items)
  equal <- list(configural = "", metric = "loadings", scalar = c("loadings", "intercepts"),
                strict = c("loadings", "intercepts", "residuals"))
  fits <- lapply(equal, function(eq) {
    syntax <- measEq.syntax(configural.model = configural, data = wide,
                            longFacNames = long_factors, longIndNames = long_items,
                            long.equal = eq, auto = "all")
    cfa(as.character(syntax), data = wide, meanstructure = TRUE, missing = "ml")
  })
  lrt <- as.data.frame(lavTestLRT(fits$configural, fits$metric, fits$scalar, fits$strict))
  list(
    participants = nrow(wide),
    levels = lapply(fits, one_fit),
    lrt_chisq_diff = lrt$`Chisq diff`
  )
}

analyse <- if (case == "longitudinal") analyse_longitudinal else analyse_cross_sectional
times <- numeric(repeats)
warnings_seen <- character(0)
withCallingHandlers({
  for (i in seq_len(repeats)) times[i] <- system.time(res <- analyse())[["elapsed"]]
}, warning = function(w) {
  warnings_seen <<- unique(c(warnings_seen, conditionMessage(w)))
  invokeRestart("muffleWarning")
})
t_fitted <- proc.time()[["elapsed"]]

out <- list(
  case = case,
  lavaan = as.character(packageVersion("lavaan")),
  semTools = if (case == "longitudinal") as.character(packageVersion("semTools")) else NULL,
  r = R.version.string,
  blas = extSoftVersion()[["BLAS"]],
  lapack = La_library(),
  startup_seconds = t_loaded - t_start,
  read_csv_seconds = t_read - t_loaded,
  times = I(times),
  warnings = I(warnings_seen),
  result = res
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null"), out_path)
cat(sprintf("write_seconds %.3f\n", proc.time()[["elapsed"]] - t_fitted))
