# The validation battery in R, for benchmarks/bench_validation.py (side by side in one run).
#
#   Rscript benchmarks/bench_validation.R WIDE.csv OUTCOMES.csv MODEL.R
#
# What a researcher would run in R for the same report, section by section, on the study's
# own exports (WIDE.csv: the wide export; MODEL.R: the lavaan model export, which reverse-
# keys the items; OUTCOMES.csv: participant, wave, messages_sent, active_weeks, dropped_out):
# item statistics (psych::describe, response tables), first- and second-order CFA with
# lavaan (fit measures, standardised solution, modification indices, chi-square difference),
# KMO, Bartlett and parallel analysis (psych, 100 iterations), alpha per subconstruct and
# construct (psych::alpha), omega per factor (semTools::compRelSEM), test-retest ICC between
# adjacent waves per construct (psych::ICC), change per wave (t.test), criterion validity
# (cor.test; glm logistic regression and AUC for dropout). Prints the seconds per section and
# the total as "section,seconds" lines.
suppressPackageStartupMessages({
  library(lavaan)
  library(psych)
  library(semTools)
})
args <- commandArgs(trailingOnly = TRUE)
wide_file <- args[[1]]
outcomes_file <- args[[2]]
model_file <- args[[3]]
times <- list()
timed <- function(name, expr) {
  started <- proc.time()[["elapsed"]]
  force(expr)
  times[[name]] <<- proc.time()[["elapsed"]] - started
}
total_start <- proc.time()[["elapsed"]]

timed("read exports", {
  setwd(dirname(normalizePath(wide_file)))
  source(normalizePath(model_file, mustWork = TRUE), chdir = FALSE)
  outcomes <- read.csv(outcomes_file)
})
items <- items_iemdp_1_1_0
waves <- unique(data$wave)
baseline <- items[data$wave == waves[1], ]
subscales <- split(names(items), sub("_[0-9]+$", "", names(items)))
constructs <- split(names(items), sub("_.*$", "", names(items)))

timed("item statistics", {
  described <- describe(baseline)
  tables <- lapply(baseline, function(x) table(factor(x, levels = 1:5), useNA = "ifany"))
})
complete <- baseline[complete.cases(baseline), ]
timed("structural: CFA (lavaan)", {
  first <- cfa(model_iemdp_1_1_0_first_order, data = complete)
  second <- cfa(model_iemdp_1_1_0_second_order, data = complete)
  for (fit in list(first, second)) {
    fitMeasures(fit)
    standardizedSolution(fit)
  }
  difference <- lavTestLRT(second, first)
})
timed("structural: modification indices (lavaan)", {
  for (fit in list(first, second)) modindices(fit, sort. = TRUE, maximum.number = 10)
})
timed("structural: EFA diagnostics (psych)", {
  kmo <- KMO(cor(complete))
  bartlett <- cortest.bartlett(cor(complete), n = nrow(complete))
  parallel <- fa.parallel(complete, fa = "both", n.iter = 100, plot = FALSE)
})
times[["structural validity (CFA, EFA)"]] <- sum(unlist(times[grep("^structural", names(times))]))
timed("internal consistency", {
  for (scale in c(subscales, constructs)) {
    alpha(complete[, scale], check.keys = FALSE, warnings = FALSE)
  }
  omegas <- compRelSEM(first)
})
scores <- function(rows) {
  sapply(constructs, function(scale) rowMeans(items[rows, scale], na.rm = TRUE))
}
timed("test-retest and measurement error", {
  for (k in seq_len(length(waves) - 1)) {
    a <- data.frame(participant = data$participant[data$wave == waves[k]],
                    scores(data$wave == waves[k]))
    b <- data.frame(participant = data$participant[data$wave == waves[k + 1]],
                    scores(data$wave == waves[k + 1]))
    both <- merge(a, b, by = "participant")
    for (code in names(constructs)) {
      ICC(both[, c(paste0(code, ".x"), paste0(code, ".y"))])
    }
  }
})
timed("responsiveness", {
  first_scores <- data.frame(participant = data$participant[data$wave == waves[1]],
                             scores(data$wave == waves[1]))
  for (k in seq_along(waves)[-1]) {
    later <- data.frame(participant = data$participant[data$wave == waves[k]],
                        scores(data$wave == waves[k]))
    both <- merge(first_scores, later, by = "participant")
    for (code in names(constructs)) {
      t.test(both[[paste0(code, ".y")]], both[[paste0(code, ".x")]], paired = TRUE)
    }
  }
})
timed("criterion validity", {
  per <- aggregate(cbind(messages_sent, active_weeks, dropped_out) ~ participant,
                   data = outcomes, FUN = sum)
  per$dropped_out <- as.integer(per$dropped_out > 0)
  joined <- merge(first_scores, per, by = "participant")
  for (outcome in c("messages_sent", "active_weeks", "dropped_out")) {
    for (code in names(constructs)) cor.test(joined[[code]], joined[[outcome]])
  }
  standardised <- as.data.frame(scale(joined[, names(constructs)]))
  standardised$dropped_out <- joined$dropped_out
  all <- glm(dropped_out ~ ., data = standardised, family = binomial)
  confint.default(all)
  p <- fitted(all)
  y <- standardised$dropped_out[as.integer(names(p))]
  auc <- (mean(rank(p)[y == 1]) - (sum(y == 1) + 1) / 2) / sum(y == 0)
  for (code in names(constructs)) {
    glm(reformulate(code, "dropped_out"), data = standardised, family = binomial)
  }
})
times[["total"]] <- proc.time()[["elapsed"]] - total_start
for (name in names(times)) cat(sprintf("%s,%.3f\n", name, times[[name]]))
