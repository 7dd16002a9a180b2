# Golden values for multi-group ordinal invariance (psychometrics.cfa.ordinal_invariance).
# R 4.2.2, lavaan 0.6-14, semTools 0.5-6, MASS, jsonlite. From the repository root:
#   Rscript tests/psychometrics/expected/ordinal_invariance/generate_ordinal_invariance.R
# Writes groups.csv, groups_missing.csv (6 % MCAR cells; missing = "pairwise") and
# ordinal_invariance_oracles.json next to itself.
suppressPackageStartupMessages({library(lavaan); library(semTools); library(jsonlite)})
out_dir <- "tests/psychometrics/expected/ordinal_invariance"
RNGkind("Mersenne-Twister", "Inversion", "Rejection")
seed <- 20261202
set.seed(seed)
cut_items <- function(z, th) sapply(seq_len(ncol(z)), function(j) findInterval(z[, j], th[[j]]) + 1L)
sim <- function(n, lam, phi, th, kappa) {
  f <- MASS::mvrnorm(n, kappa, phi)
  e <- matrix(rnorm(n * nrow(lam)), n) %*% diag(sqrt(1 - rowSums(lam * lam)))
  cut_items(f %*% t(lam) + e, th)
}
# misfit of the fitted model: y4 loads on f1 too; in group b y1's thresholds are shifted
# 2 factors x 3 five-point items; y6's top category is sparse (about 1 %)
lam <- matrix(0, 6, 2); lam[1:3, 1] <- c(.8, .7, .6); lam[4:6, 2] <- c(.75, .65, .7); lam[4, 1] <- .25
th <- rep(list(c(-1.5, -.5, .4, 1.3)), 6); th[[6]] <- c(-1.2, -.2, .8, 2.1)
g1 <- sim(520, lam, matrix(c(1, .4, .4, 1), 2), th, c(0, 0))
th_b <- th; th_b[[1]] <- th[[1]] + .35
g2 <- sim(480, lam, matrix(c(1.2, .5, .5, .9), 2), th_b, c(.3, -.2))
d <- as.data.frame(rbind(g1, g2)); names(d) <- paste0("y", 1:6)
d$grp <- rep(c("a", "b"), c(520, 480))
stopifnot(all(sapply(split(d$y6, d$grp), function(x) min(table(x))) <= 8))
write.csv(d, file.path(out_dir, "groups.csv"), row.names = FALSE)

model <- "f1 =~ y1 + y2 + y3\nf2 =~ y4 + y5 + y6"
items <- paste0("y", 1:6)
num <- function(x) unname(as.numeric(x))
ladder <- list(configural = "", thresholds = "thresholds",
               metric = c("thresholds", "loadings"),
               scalar = c("thresholds", "loadings", "intercepts"),
               strict = c("thresholds", "loadings", "intercepts", "residuals"))
run_ladder <- function(parameterization, data = d, missing = "listwise") {
  # strict invariance is a model of the theta parameterisation only (semTools refuses delta)
  levels <- if (parameterization == "delta") names(ladder)[1:4] else names(ladder)
  fits <- list(); out <- list()
  for (lv in levels) {
    fit <- measEq.syntax(model, data = data, ordered = items, parameterization = parameterization,
                         ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016", group = "grp",
                         group.equal = ladder[[lv]], estimator = "WLSMV", missing = missing,
                         return.fit = TRUE)
    fits[[lv]] <- fit
    pe <- parameterEstimates(fit)
    fm <- fitMeasures(fit)
    out[[lv]] <- list(
      group_equal = ladder[[lv]],
      syntax = as.character(measEq.syntax(model, data = d, ordered = items,
        parameterization = parameterization, ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016",
        group = "grp", group.equal = ladder[[lv]])),
      converged = lavInspect(fit, "converged"),
      estimates = list(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, group = pe$group,
                       est = pe$est, se = pe$se),
      fit_measures = as.list(setNames(num(fm), names(fm))),
      test = lapply(fit@test, function(t) t[setdiff(names(t), c("stat.group"))])
    )
  }
  lrt <- list()
  for (k in 2:length(levels)) {
    a <- lavTestLRT(fits[[levels[k - 1]]], fits[[levels[k]]])
    lrt[[levels[k]]] <- list(versus = levels[k - 1], chisq_diff = a[["Chisq diff"]][2],
                             df_diff = a[["Df diff"]][2], pvalue = a[["Pr(>Chisq)"]][2],
                             method = attr(a, "heading"))
  }
  list(levels = out, lrt = lrt)
}
delta <- run_ladder("delta")
theta <- run_ladder("theta")
# the same data with 6 % of the item cells missing completely at random: missing = "pairwise"
set.seed(seed + 1)
dm <- d
cells <- as.matrix(dm[, items])
cells[sample.int(length(cells), round(0.06 * length(cells)))] <- NA
dm[, items] <- cells
write.csv(dm, file.path(out_dir, "groups_missing.csv"), row.names = FALSE, na = "")
pairwise <- run_ladder("delta", dm, "pairwise")
meta <- list(R = R.version.string, lavaan = as.character(packageVersion("lavaan")),
             semTools = as.character(packageVersion("semTools")), seed = seed,
             call = paste("measEq.syntax(model, data, ordered = items, parameterization =",
                          "'delta' (levels, lrt) or 'theta' (theta: also strict),",
                          "ID.fac = 'std.lv', ID.cat = 'Wu.Estabrook.2016', group = 'grp',",
                          "group.equal = <level>, estimator = 'WLSMV', return.fit = TRUE);",
                          "lavTestLRT(previous, current) (default method)"),
             model = model)
writeLines(toJSON(list(meta = meta, levels = delta$levels, lrt = delta$lrt, theta = theta,
                  pairwise = pairwise[c("levels", "lrt")]), digits = NA, auto_unbox = TRUE,
                  null = "null", na = "null", pretty = TRUE),
           file.path(out_dir, "ordinal_invariance_oracles.json"))
