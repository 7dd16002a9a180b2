# Measurement models of the study's battery in lavaan syntax.
# Battery: iemdp 1.1.0 sha256:ce48aa5ae87929596fa7ae144637cbb4956cd791ef135bff5262ce0fed3e8b38
# Each model is fitted to the reverse-keyed items of its instrument, one column per
# item id (in a battery the wide CSV prefixes item columns with the instrument key).
# Needs R 4.0 or later (raw strings); install.packages("lavaan")

data <- read.csv('wide.csv')
data <- data[data$excluded == 0, ]  # leave out excluded sessions

# iemdp 1.1.0, content hash ce48aa5ae87929596fa7ae144637cbb4956cd791ef135bff5262ce0fed3e8b38
items_iemdp_1_1_0 <- data[, c('OE_BEN_1', 'OE_BEN_2', 'OE_BEN_3', 'OE_MOD_1', 'OE_MOD_2', 'OE_MOD_3', 'SE_ACT_1', 'SE_ACT_2', 'SE_ACT_3', 'SE_MAIN_1', 'SE_MAIN_2', 'SE_MAIN_3', 'SE_REC_1', 'SE_REC_2', 'SE_REC_3', 'RP_SYM_1', 'RP_SYM_2', 'RP_SYM_3', 'RP_NEED_1', 'RP_NEED_2', 'RP_NEED_3', 'IP_INT_1', 'IP_INT_2', 'IP_INT_3', 'IP_ACT_1', 'IP_ACT_2', 'IP_ACT_3', 'IP_COP_1', 'IP_COP_2', 'IP_COP_3', 'UT_SEL_1', 'UT_SEL_2', 'UT_SEL_3', 'UT_LAP_1', 'UT_LAP_2', 'UT_LAP_3', 'UT_RES_1', 'UT_RES_2', 'UT_RES_3', 'TA_BOND_1', 'TA_BOND_2', 'TA_BOND_3', 'TA_GOAL_1', 'TA_GOAL_2', 'TA_GOAL_3', 'TA_TASK_1', 'TA_TASK_2', 'TA_TASK_3', 'RR_RUP_1', 'RR_RUP_2', 'RR_RUP_3', 'RR_REP_1', 'RR_REP_2', 'RR_REP_3', 'TR_RESP_1', 'TR_RESP_2', 'TR_RESP_3', 'TR_MATCH_1', 'TR_MATCH_2', 'TR_MATCH_3', 'TC_FIN_1', 'TC_FIN_2', 'TC_FIN_3', 'TC_TIME_1', 'TC_TIME_2', 'TC_TIME_3', 'SS_ENC_1', 'SS_ENC_2', 'SS_ENC_3', 'SS_STIG_1', 'SS_STIG_2', 'SS_STIG_3')]
names(items_iemdp_1_1_0) <- c('OE_BEN_1', 'OE_BEN_2', 'OE_BEN_3', 'OE_MOD_1', 'OE_MOD_2', 'OE_MOD_3', 'SE_ACT_1', 'SE_ACT_2', 'SE_ACT_3', 'SE_MAIN_1', 'SE_MAIN_2', 'SE_MAIN_3', 'SE_REC_1', 'SE_REC_2', 'SE_REC_3', 'RP_SYM_1', 'RP_SYM_2', 'RP_SYM_3', 'RP_NEED_1', 'RP_NEED_2', 'RP_NEED_3', 'IP_INT_1', 'IP_INT_2', 'IP_INT_3', 'IP_ACT_1', 'IP_ACT_2', 'IP_ACT_3', 'IP_COP_1', 'IP_COP_2', 'IP_COP_3', 'UT_SEL_1', 'UT_SEL_2', 'UT_SEL_3', 'UT_LAP_1', 'UT_LAP_2', 'UT_LAP_3', 'UT_RES_1', 'UT_RES_2', 'UT_RES_3', 'TA_BOND_1', 'TA_BOND_2', 'TA_BOND_3', 'TA_GOAL_1', 'TA_GOAL_2', 'TA_GOAL_3', 'TA_TASK_1', 'TA_TASK_2', 'TA_TASK_3', 'RR_RUP_1', 'RR_RUP_2', 'RR_RUP_3', 'RR_REP_1', 'RR_REP_2', 'RR_REP_3', 'TR_RESP_1', 'TR_RESP_2', 'TR_RESP_3', 'TR_MATCH_1', 'TR_MATCH_2', 'TR_MATCH_3', 'TC_FIN_1', 'TC_FIN_2', 'TC_FIN_3', 'TC_TIME_1', 'TC_TIME_2', 'TC_TIME_3', 'SS_ENC_1', 'SS_ENC_2', 'SS_ENC_3', 'SS_STIG_1', 'SS_STIG_2', 'SS_STIG_3')
items_iemdp_1_1_0$OE_BEN_3 <- 6 - items_iemdp_1_1_0$OE_BEN_3  # reverse-keyed
items_iemdp_1_1_0$OE_MOD_3 <- 6 - items_iemdp_1_1_0$OE_MOD_3  # reverse-keyed
items_iemdp_1_1_0$SE_ACT_3 <- 6 - items_iemdp_1_1_0$SE_ACT_3  # reverse-keyed
items_iemdp_1_1_0$SE_MAIN_2 <- 6 - items_iemdp_1_1_0$SE_MAIN_2  # reverse-keyed
items_iemdp_1_1_0$SE_REC_3 <- 6 - items_iemdp_1_1_0$SE_REC_3  # reverse-keyed
items_iemdp_1_1_0$RP_SYM_3 <- 6 - items_iemdp_1_1_0$RP_SYM_3  # reverse-keyed
items_iemdp_1_1_0$RP_NEED_2 <- 6 - items_iemdp_1_1_0$RP_NEED_2  # reverse-keyed
items_iemdp_1_1_0$IP_INT_3 <- 6 - items_iemdp_1_1_0$IP_INT_3  # reverse-keyed
items_iemdp_1_1_0$IP_ACT_2 <- 6 - items_iemdp_1_1_0$IP_ACT_2  # reverse-keyed
items_iemdp_1_1_0$IP_COP_3 <- 6 - items_iemdp_1_1_0$IP_COP_3  # reverse-keyed
items_iemdp_1_1_0$UT_SEL_3 <- 6 - items_iemdp_1_1_0$UT_SEL_3  # reverse-keyed
items_iemdp_1_1_0$UT_LAP_3 <- 6 - items_iemdp_1_1_0$UT_LAP_3  # reverse-keyed
items_iemdp_1_1_0$UT_RES_2 <- 6 - items_iemdp_1_1_0$UT_RES_2  # reverse-keyed
items_iemdp_1_1_0$TA_BOND_3 <- 6 - items_iemdp_1_1_0$TA_BOND_3  # reverse-keyed
items_iemdp_1_1_0$TA_GOAL_2 <- 6 - items_iemdp_1_1_0$TA_GOAL_2  # reverse-keyed
items_iemdp_1_1_0$TA_TASK_3 <- 6 - items_iemdp_1_1_0$TA_TASK_3  # reverse-keyed
items_iemdp_1_1_0$RR_RUP_3 <- 6 - items_iemdp_1_1_0$RR_RUP_3  # reverse-keyed
items_iemdp_1_1_0$RR_REP_2 <- 6 - items_iemdp_1_1_0$RR_REP_2  # reverse-keyed
items_iemdp_1_1_0$TR_RESP_3 <- 6 - items_iemdp_1_1_0$TR_RESP_3  # reverse-keyed
items_iemdp_1_1_0$TR_MATCH_2 <- 6 - items_iemdp_1_1_0$TR_MATCH_2  # reverse-keyed
items_iemdp_1_1_0$TC_FIN_3 <- 6 - items_iemdp_1_1_0$TC_FIN_3  # reverse-keyed
items_iemdp_1_1_0$TC_TIME_3 <- 6 - items_iemdp_1_1_0$TC_TIME_3  # reverse-keyed
items_iemdp_1_1_0$SS_ENC_2 <- 6 - items_iemdp_1_1_0$SS_ENC_2  # reverse-keyed
items_iemdp_1_1_0$SS_STIG_3 <- 6 - items_iemdp_1_1_0$SS_STIG_3  # reverse-keyed

model_iemdp_1_1_0_first_order <- r"---[# First-order measurement model of iemdp 1.1.0
# content hash (SHA-256): ce48aa5ae87929596fa7ae144637cbb4956cd791ef135bff5262ce0fed3e8b38
# Fit to reverse-keyed items; indicator names are item ids.
# Measurement model of instrument iemdp 1.1.0 (content hash ce48aa5ae879).
# Fit to reverse-keyed item data; every factor's first loading is its marker.

# First-order factors: one per subconstruct, on its items.
OE_BEN =~ OE_BEN_1 + OE_BEN_2 + OE_BEN_3
OE_MOD =~ OE_MOD_1 + OE_MOD_2 + OE_MOD_3
SE_ACT =~ SE_ACT_1 + SE_ACT_2 + SE_ACT_3
SE_MAIN =~ SE_MAIN_1 + SE_MAIN_2 + SE_MAIN_3
SE_REC =~ SE_REC_1 + SE_REC_2 + SE_REC_3
RP_SYM =~ RP_SYM_1 + RP_SYM_2 + RP_SYM_3
RP_NEED =~ RP_NEED_1 + RP_NEED_2 + RP_NEED_3
IP_INT =~ IP_INT_1 + IP_INT_2 + IP_INT_3
IP_ACT =~ IP_ACT_1 + IP_ACT_2 + IP_ACT_3
IP_COP =~ IP_COP_1 + IP_COP_2 + IP_COP_3
UT_SEL =~ UT_SEL_1 + UT_SEL_2 + UT_SEL_3
UT_LAP =~ UT_LAP_1 + UT_LAP_2 + UT_LAP_3
UT_RES =~ UT_RES_1 + UT_RES_2 + UT_RES_3
TA_BOND =~ TA_BOND_1 + TA_BOND_2 + TA_BOND_3
TA_GOAL =~ TA_GOAL_1 + TA_GOAL_2 + TA_GOAL_3
TA_TASK =~ TA_TASK_1 + TA_TASK_2 + TA_TASK_3
RR_RUP =~ RR_RUP_1 + RR_RUP_2 + RR_RUP_3
RR_REP =~ RR_REP_1 + RR_REP_2 + RR_REP_3
TR_RESP =~ TR_RESP_1 + TR_RESP_2 + TR_RESP_3
TR_MATCH =~ TR_MATCH_1 + TR_MATCH_2 + TR_MATCH_3
TC_FIN =~ TC_FIN_1 + TC_FIN_2 + TC_FIN_3
TC_TIME =~ TC_TIME_1 + TC_TIME_2 + TC_TIME_3
SS_ENC =~ SS_ENC_1 + SS_ENC_2 + SS_ENC_3
SS_STIG =~ SS_STIG_1 + SS_STIG_2 + SS_STIG_3
]---"
# fit <- lavaan::cfa(model_iemdp_1_1_0_first_order, data = items_iemdp_1_1_0, missing = "ml")
# summary(fit, fit.measures = TRUE, standardized = TRUE)

model_iemdp_1_1_0_second_order <- r"---[# Second-order measurement model of iemdp 1.1.0
# content hash (SHA-256): ce48aa5ae87929596fa7ae144637cbb4956cd791ef135bff5262ce0fed3e8b38
# Fit to reverse-keyed items; indicator names are item ids.
# Measurement model of instrument iemdp 1.1.0 (content hash ce48aa5ae879).
# Fit to reverse-keyed item data; every factor's first loading is its marker.

# First-order factors: one per subconstruct, on its items.
OE_BEN =~ OE_BEN_1 + OE_BEN_2 + OE_BEN_3
OE_MOD =~ OE_MOD_1 + OE_MOD_2 + OE_MOD_3
SE_ACT =~ SE_ACT_1 + SE_ACT_2 + SE_ACT_3
SE_MAIN =~ SE_MAIN_1 + SE_MAIN_2 + SE_MAIN_3
SE_REC =~ SE_REC_1 + SE_REC_2 + SE_REC_3
RP_SYM =~ RP_SYM_1 + RP_SYM_2 + RP_SYM_3
RP_NEED =~ RP_NEED_1 + RP_NEED_2 + RP_NEED_3
IP_INT =~ IP_INT_1 + IP_INT_2 + IP_INT_3
IP_ACT =~ IP_ACT_1 + IP_ACT_2 + IP_ACT_3
IP_COP =~ IP_COP_1 + IP_COP_2 + IP_COP_3
UT_SEL =~ UT_SEL_1 + UT_SEL_2 + UT_SEL_3
UT_LAP =~ UT_LAP_1 + UT_LAP_2 + UT_LAP_3
UT_RES =~ UT_RES_1 + UT_RES_2 + UT_RES_3
TA_BOND =~ TA_BOND_1 + TA_BOND_2 + TA_BOND_3
TA_GOAL =~ TA_GOAL_1 + TA_GOAL_2 + TA_GOAL_3
TA_TASK =~ TA_TASK_1 + TA_TASK_2 + TA_TASK_3
RR_RUP =~ RR_RUP_1 + RR_RUP_2 + RR_RUP_3
RR_REP =~ RR_REP_1 + RR_REP_2 + RR_REP_3
TR_RESP =~ TR_RESP_1 + TR_RESP_2 + TR_RESP_3
TR_MATCH =~ TR_MATCH_1 + TR_MATCH_2 + TR_MATCH_3
TC_FIN =~ TC_FIN_1 + TC_FIN_2 + TC_FIN_3
TC_TIME =~ TC_TIME_1 + TC_TIME_2 + TC_TIME_3
SS_ENC =~ SS_ENC_1 + SS_ENC_2 + SS_ENC_3
SS_STIG =~ SS_STIG_1 + SS_STIG_2 + SS_STIG_3

# Second-order factors: one per construct, on its subconstruct factors.
OE =~ 1*OE_BEN + 1*OE_MOD
SE =~ 1*SE_ACT + SE_MAIN + SE_REC
RP =~ 1*RP_SYM + 1*RP_NEED
IP =~ 1*IP_INT + IP_ACT + IP_COP
UT =~ 1*UT_SEL + UT_LAP + UT_RES
TA =~ 1*TA_BOND + TA_GOAL + TA_TASK
RR =~ -1*RR_RUP + 1*RR_REP
TR =~ 1*TR_RESP + 1*TR_MATCH
TC =~ -1*TC_FIN + 1*TC_TIME
SS =~ 1*SS_ENC + -1*SS_STIG
]---"
# fit <- lavaan::cfa(model_iemdp_1_1_0_second_order, data = items_iemdp_1_1_0, missing = "ml")
# summary(fit, fit.measures = TRUE, standardized = TRUE)

