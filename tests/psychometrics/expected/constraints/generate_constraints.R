# lavaan 0.6-14 reference values for constraints: group.partial, explicit '==' constraints
# (simple and linear with constants), '<' / '>' inequality constraints (active and inactive,
# Heywood case), and lavTestScore() (univariate and total score tests for releasing equality
# constraints, with epc) on shared labels, '==' and group.equal.
#
# Run from the repository root:
#   Rscript tests/psychometrics/expected/constraints/generate_constraints.R
# Writes constraints_oracles.json next to this script (and the simulated data sim_constraints.csv),
# read by tests/psychometrics/test_group_partial.py, test_cfa_constraints.py, test_score_test.py.
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})
here <- "tests/psychometrics/expected/constraints"
hs <- read.csv("tests/psychometrics/data/holzinger_swineford_1939.csv")
heywood <- read.csv("tests/psychometrics/data/heywood_sim.csv")

# Simulated: one factor, six indicators, two groups of 300 (seed fixed), for '==' with constants.
set.seed(20261202)
sim <- do.call(rbind, lapply(1:2, function(g) {
  n <- 300
  eta <- rnorm(n, mean = c(0, 0.3)[g])
  lam <- c(1, 0.9, 0.8, 0.8, 0.6, 0.5)
  x <- sapply(seq_along(lam), function(j) 0.2 * j + lam[j] * eta + rnorm(n, sd = 0.7))
  colnames(x) <- paste0("y", 1:6)
  data.frame(g = c("A", "B")[g], x)
}))
write.csv(sim, file.path(here, "sim_constraints.csv"), row.names = FALSE)

hs_model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
est_table <- function(fit) {
  pe <- parameterEstimates(fit, ci = FALSE)
  pe <- pe[!(pe$op %in% c("==", "<", ">", ":=")), ]
  keep <- intersect(c("lhs", "op", "rhs", "group", "label", "est", "se"), names(pe))
  pe[, keep]
}
fm_names <- c("npar", "fmin", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr", "aic",
              "bic", "logl")
score_out <- function(fit) {
  s <- lavTestScore(fit, epc = TRUE)
  epc <- as.data.frame(s$epc)
  epc <- epc[, intersect(c("lhs", "op", "rhs", "group", "label", "est", "epc", "epv"),
                         names(epc))]
  list(test = as.data.frame(s$test), uni = as.data.frame(s$uni),
       epc = epc)
}
cases <- list()
add <- function(name, model, data, call, score = FALSE, mi = FALSE, ...) {
  fit <- cfa(model, data = data, ...)
  out <- list(model = model, call = call, converged = lavInspect(fit, "converged"),
              estimates = est_table(fit),
              fit = as.list(fitMeasures(fit, fm_names)))
  if (score) out$score <- score_out(fit)
  if (mi) out$modindices <- modindices(fit)[, c("lhs", "op", "rhs", "mi", "epc")]
  cases[[name]] <<- out
}

# -- group.partial ---------------------------------------------------------------------------
add("hs_scalar_partial", hs_model, hs,
    'cfa(hs_model, hs, group = "school", group.equal = c("loadings", "intercepts"), group.partial = c("x3~1", "x7~1"))',
    score = TRUE, group = "school", group.equal = c("loadings", "intercepts"),
    group.partial = c("x3~1", "x7~1"))
add("hs_metric_partial_loading", hs_model, hs,
    'cfa(hs_model, hs, group = "school", group.equal = "loadings", group.partial = "visual=~x3")',
    group = "school", group.equal = "loadings", group.partial = "visual=~x3")
add("hs_strict_partial_residual", hs_model, hs,
    'cfa(hs_model, hs, group = "school", group.equal = c("loadings", "intercepts", "residuals"), group.partial = c("x3~1", "x1~~x1"))',
    group = "school", group.equal = c("loadings", "intercepts", "residuals"),
    group.partial = c("x3~1", "x1~~x1"))

# -- explicit '==' ---------------------------------------------------------------------------
m_eq <- "visual =~ x1 + a*x2 + a*x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + b*x8 + c*x9\nb == c"
add("hs_eq_simple", m_eq, hs, "cfa(m_eq, hs)", score = TRUE)
m_lin <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + b*x8 + c*x9\nb == 2*c"
add("hs_eq_times", m_lin, hs, "cfa(m_lin, hs)", score = TRUE, mi = TRUE)
hs_missing <- read.csv("tests/psychometrics/data/hs_missing.csv")  # seeded MCAR, see ../README.md
add("hs_missing_eq_times", m_lin, hs_missing, 'cfa(m_lin, hs_missing, missing = "ml")',
    missing = "ml")
m_sum <- "visual =~ x1 + p*x2 + q*x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\np + q == 1.5"
add("hs_eq_sum", m_sum, hs, "cfa(m_sum, hs)", score = TRUE)
m_diff <- paste0("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\n",
                 "x4 ~~ v4*x4\nx5 ~~ v5*x5\nv4 - v5 == 0")
add("hs_eq_diff", m_diff, hs, "cfa(m_diff, hs)", score = TRUE)
m_sim <- paste0("f =~ y1 + l2*y2 + l3*y3 + l4*y4 + l5*y5 + l6*y6\n",
                "l3 == l4\nl5 - 0.5*l2 == 0.1\n")
add("sim_eq_groups", m_sim, sim, 'cfa(m_sim, sim, group = "g", group.equal = "intercepts")',
    score = TRUE, group = "g", group.equal = "intercepts")

# -- inequality constraints ------------------------------------------------------------------
m_hey <- "f1 =~ h1 + h2 + h3\nf2 =~ h4 + h5 + h6\nh1 ~~ t1*h1"
add("heywood_free", m_hey, heywood, "cfa(m_hey, heywood)")
add("heywood_positive", paste0(m_hey, "\nt1 > 0"), heywood, "cfa(paste0(m_hey, '\\nt1 > 0'), heywood)")
add("heywood_bound", paste0(m_hey, "\nt1 > 0.1"), heywood, "cfa(paste0(m_hey, '\\nt1 > 0.1'), heywood)")
m_in <- "visual =~ x1 + a*x2 + b*x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\nx1 ~~ v1*x1"
add("hs_inactive", paste0(m_in, "\nv1 > 0.1\na < 2"), hs, "cfa(paste0(m_in, '\\nv1 > 0.1\\na < 2'), hs)")
add("hs_active_order", paste0(m_in, "\na > b"), hs, "cfa(paste0(m_in, '\\na > b'), hs)")
add("hs_active_upper", paste0(m_in, "\nv1 < 0.4"), hs, "cfa(paste0(m_in, '\\nv1 < 0.4'), hs)",
    mi = TRUE)

# -- score tests on group.equal --------------------------------------------------------------
add("hs_scalar", hs_model, hs, 'cfa(hs_model, hs, group = "school", group.equal = c("loadings", "intercepts"))',
    score = TRUE, group = "school", group.equal = c("loadings", "intercepts"))
add("hs_metric_labels", "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + c(s8, s8)*x8 + x9",
    hs, 'cfa(model, hs, group = "school", group.equal = "loadings")',
    score = TRUE, group = "school", group.equal = "loadings")

# -- inequality across groups, and lavTestScore(release = ) ------------------------------------
m_grp <- "visual =~ x1 + c(a1, a2)*x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\na1 < a2"
add("hs_groups_inequality", m_grp, hs, 'cfa(m_grp, hs, group = "school", group.equal = "intercepts")',
    group = "school", group.equal = "intercepts")
fit_rel <- cfa(hs_model, hs, group = "school", group.equal = c("loadings", "intercepts"))
rel <- lavTestScore(fit_rel, release = c(1, 12, 13))
cases$hs_scalar$score_release <- list(release = c(1, 12, 13), test = as.data.frame(rel$test),
                                      uni = as.data.frame(rel$uni))

out <- list(
  meta = list(lavaan = as.character(packageVersion("lavaan")), R = R.version.string,
              seed = 20261202, data = c("holzinger_swineford_1939.csv (group 1 Pasteur, 2 Grant-White)",
              "heywood_sim.csv", "sim_constraints.csv (simulated here)"),
              fit_measures = fm_names),
  cases = cases)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = TRUE),
           file.path(here, "constraints_oracles.json"))
