"""Confirmatory factor analysis by maximum likelihood, checked against R's lavaan 0.6.

>>> from psychometrics.cfa import cfa, invariance, lrt
"""

from .errors import DataError, ModelIdentificationError, NonPositiveDefiniteError
from .fitting import cfa
from .invariance import InvarianceResult, invariance
from .longitudinal import LongitudinalInvarianceResult, longitudinal_invariance
from .lrt import LRTResult, lrt
from .ordinal import OrdinalCFAResult
from .reliability import omega_ci, omega_hierarchical
from .residuals import ResidualCorrelations, residual_correlations
from .results import CFAResult
from .score_test import ScoreTestResult, score_test
from .scores import factor_scores

__all__ = [
    "CFAResult",
    "DataError",
    "InvarianceResult",
    "LRTResult",
    "LongitudinalInvarianceResult",
    "ModelIdentificationError",
    "NonPositiveDefiniteError",
    "OrdinalCFAResult",
    "ResidualCorrelations",
    "ScoreTestResult",
    "cfa",
    "factor_scores",
    "invariance",
    "longitudinal_invariance",
    "lrt",
    "omega_ci",
    "omega_hierarchical",
    "residual_correlations",
    "score_test",
]
