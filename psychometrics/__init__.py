"""Psychometric analysis: item statistics, reliability, EFA and CFA.

A pure library: pandas DataFrames in, frozen result objects (tables plus ``to_dict()``) out. It
imports neither Flask, SQLAlchemy, ``survey`` nor ``instruments``.

The names below are imported on first use, so ``import psychometrics`` stays cheap and a module
that fails to import does not take the others down. The EFA itself is ``psychometrics.efa.efa``
(the name ``psychometrics.efa`` is the module).

>>> import psychometrics
>>> sorted(psychometrics.__all__)[:3]
['ScaleKey', 'bartlett_sphericity', 'cronbach_alpha']
"""

from importlib import import_module

_PUBLIC = {
    "describe_items": "psychometrics.items",
    "cronbach_alpha": "psychometrics.reliability",
    "split_half": "psychometrics.reliability",
    "omega_total": "psychometrics.reliability",
    "intraclass_corr": "psychometrics.reliability",
    "kmo": "psychometrics.efa",
    "bartlett_sphericity": "psychometrics.efa",
    "parallel_analysis": "psychometrics.efa",
    "ScaleKey": "psychometrics.keying",
    "reverse_key": "psychometrics.keying",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'psychometrics' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
