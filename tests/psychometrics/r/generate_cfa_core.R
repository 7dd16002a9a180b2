# Reference values for the CFA engine (psychometrics/cfa), produced with R's lavaan and semTools.
#
# Run from the repository root:
#   Rscript tests/psychometrics/r/generate_cfa_core.R
# Writes tests/psychometrics/expected/cfa_core_hs.json: cases the CFA tests need beyond
# generate_cfa_oracles.R (meanstructure, labels with NA and fixed variances, orthogonal factors,
# modification indices of several models, std.lv multi-group). FIML oracles: cfa_fiml_hs.json.
suppressPackageStartupMessages({
  library(lavaan)
  library(semTools)
  library(jsonlite)
})

hs <- read.csv("tests/psychometrics/data/holzinger_swineford_1939.csv")

provenance <- list(
  r = R.version.string,
  lavaan = as.character(packageVersion("lavaan")),
  semTools = as.character(packageVersion("semTools")),
  jsonlite = as.character(packageVersion("jsonlite")),
  script = "tests/psychometrics/r/generate_cfa_core.R",
  data = "Holzinger & Swineford (1939), as shipped with lavaan (301 pupils)"
)

fit_names <- c("npar", "ntotal", "logl", "unrestricted.logl", "aic", "bic", "bic2",
               "chisq", "df", "pvalue", "baseline.chisq", "baseline.df", "baseline.pvalue",
               "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.pvalue", "srmr")

fit_list <- function(fit) as.list(fitMeasures(fit, fit_names))

estimates <- function(fit) {
  pe <- parameterEstimates(fit, remove.nonfree = FALSE, remove.eq = TRUE, remove.ineq = TRUE,
                           remove.def = TRUE)
  ss <- standardizedSolution(fit, type = "std.all", remove.eq = TRUE, remove.ineq = TRUE,
                             remove.def = TRUE)
  sl <- standardizedSolution(fit, type = "std.lv", se = FALSE, remove.eq = TRUE,
                             remove.ineq = TRUE, remove.def = TRUE)
  if (is.null(pe$group)) pe$group <- 1L
  if (is.null(ss$group)) ss$group <- 1L
  if (is.null(sl$group)) sl$group <- 1L
  key <- function(d) paste(d$lhs, d$op, d$rhs, d$group)
  out <- data.frame(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, group = pe$group,
                    est = pe$est, se = pe$se, z = pe$z, pvalue = pe$pvalue)
  out$std_lv <- sl$est.std[match(key(pe), key(sl))]
  out$std_all <- ss$est.std[match(key(pe), key(ss))]
  out$se_std_all <- ss$se[match(key(pe), key(ss))]
  out
}

mods <- function(fit) {
  mi <- modindices(fit, sort. = TRUE)
  if (is.null(mi$group)) mi$group <- 1L
  data.frame(lhs = mi$lhs, op = mi$op, rhs = mi$rhs, group = mi$group, mi = mi$mi,
             epc = mi$epc, sepc_lv = mi$sepc.lv, sepc_all = mi$sepc.all)
}

describe <- function(fit, syntax, call, extra = list()) {
  c(list(syntax = syntax, call = call, converged = lavInspect(fit, "converged"),
         information = lavInspect(fit, "options")$information,
         fit = fit_list(fit), estimates = estimates(fit)), extra)
}

three <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
out <- list(provenance = provenance)

fit <- cfa(three, data = hs)
rel <- compRelSEM(fit)
ave <- AVE(fit)
ht <- htmt(three, data = hs)
out$three_factor <- describe(fit, three, "cfa(model, data = hs)", list(
  modindices = mods(fit),
  omega = as.list(rel), ave = as.list(ave),
  htmt = list(names = rownames(ht), values = unname(as.matrix(ht))),
  cov_lv = unname(lavInspect(fit, "cov.lv")),
  iterations = lavInspect(fit, "iterations")
))

fit <- cfa(three, data = hs, std.lv = TRUE)
out$three_factor_std_lv <- describe(fit, three, "cfa(model, data = hs, std.lv = TRUE)",
                                    list(modindices = mods(fit)))

fit <- cfa(three, data = hs, meanstructure = TRUE)
out$three_factor_meanstructure <- describe(fit, three,
                                           "cfa(model, data = hs, meanstructure = TRUE)")

second <- paste(three, "g =~ visual + textual + speed", sep = "\n")
fit <- cfa(second, data = hs)
out$second_order <- describe(fit, second, "cfa(model, data = hs)", list(modindices = mods(fit)))

labelled <- paste("visual =~ x1 + a*x2 + a*x3", "textual =~ x4 + x5 + x6",
                  "speed =~ NA*x7 + x8 + x9", "speed ~~ 1*speed", "x7 ~~ x8", sep = "\n")
fit <- cfa(labelled, data = hs)
out$labelled <- describe(fit, labelled, "cfa(model, data = hs)", list(modindices = mods(fit)))

orth <- paste(three, "visual ~~ 0*speed", sep = "\n")
fit <- cfa(orth, data = hs)
out$orthogonal_pair <- describe(fit, orth, "cfa(model, data = hs)", list(modindices = mods(fit)))

inv <- list()
levels <- list(configural = "", metric = c("loadings"),
               scalar = c("loadings", "intercepts"),
               strict = c("loadings", "intercepts", "residuals"))
for (lv in names(levels)) {
  fit <- cfa(three, data = hs, group = "school", group.equal = levels[[lv]])
  inv[[lv]] <- describe(fit, three, sprintf("cfa(model, data = hs, group = \"school\", group.equal = c(%s))",
                                            paste0("\"", levels[[lv]], "\"", collapse = ", ")),
                        list(group_labels = lavInspect(fit, "group.label"),
                             modindices = if (lv == "metric") mods(fit) else NULL))
}
out$invariance_school <- inv
out$invariance_school_std_lv_scalar <- describe(
  cfa(three, data = hs, group = "school", group.equal = c("loadings", "intercepts"), std.lv = TRUE),
  three, "cfa(model, data = hs, group = \"school\", group.equal = c(\"loadings\", \"intercepts\"), std.lv = TRUE)")

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE),
           "tests/psychometrics/expected/cfa_core_hs.json")

cat("done\n")
