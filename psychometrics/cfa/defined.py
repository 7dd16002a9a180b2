"""Defined parameters (lavaan's ``:=``): functions of labelled parameters with delta-method SEs.

A definition ``ind := a*b`` names a function f of the model's labelled parameters (and of
definitions above it). Expressions use numbers, labels, ``+ - * / ^`` (``^`` binds tighter than
a unary minus and groups to the right, as in R), parentheses and the functions ``exp``, ``log``,
``sqrt`` and ``abs``. As lavaan's ``lav_model_vcov`` / ``parameterEstimates`` do:

- the estimate is f(theta_hat);
- its standard error is sqrt(J V J') with V the covariance matrix of the free parameters (the
  robust one for MLR/MLM) and J = df/dtheta, here by complex-step differentiation, exact to
  rounding (Squire & Trapp, 1998, https://doi.org/10.1137/S003614459631241X); z = est / se and
  the two-sided normal p-value;
- std.lv and std.all are f evaluated at the standardised values of the labelled parameters, and
  the SE of std.all uses the Jacobian of that composition (lavaan's ``standardizedSolution``).

Reference: Rosseel, Y. (2012). lavaan: An R package for structural equation modeling. *Journal of
Statistical Software, 48*(2). https://doi.org/10.18637/jss.v048.i02
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..syntax import ParsedModel
from .model import ModelSpec

__all__ = ["Definition", "compile_definitions", "evaluate_definitions"]

_FUNCTIONS = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": None}
_TOKEN = re.compile(
    r"\s*(?:(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|([A-Za-z_.][\w.]*)|(.))"
)


def _abs(x):
    # |x| for a complex-step argument: the sign of the real part times x (analytic off 0).
    return np.where(np.real(x) < 0, -x, x)


@dataclass(frozen=True)
class Definition:
    """One ``name := expression`` with its syntax tree and the names it uses."""

    name: str
    expression: str
    tree: tuple
    names: tuple[str, ...]


class _ExprParser:
    def __init__(self, text: str, name: str):
        self.name = name
        self.tokens = []
        for m in _TOKEN.finditer(text):
            number, ident, other = m.groups()
            if number is not None:
                self.tokens.append(("num", number))
            elif ident is not None:
                self.tokens.append(("name", ident))
            elif other is not None and other.strip():
                self.tokens.append(("op", other))
        self.tokens.append(("end", ""))
        self.pos = 0

    def fail(self, message: str):
        return ValueError(f"in the definition of {self.name!r}: {message}")

    def peek(self):
        return self.tokens[self.pos]

    def take(self):
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def parse(self) -> tuple:
        tree = self.sum()
        if self.peek()[0] != "end":
            raise self.fail(f"unexpected {self.peek()[1]!r}")
        return tree

    def sum(self) -> tuple:
        left = self.product()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            left = (op, left, self.product())
        return left

    def product(self) -> tuple:
        left = self.unary()
        while self.peek() in (("op", "*"), ("op", "/")):
            op = self.take()[1]
            left = (op, left, self.unary())
        return left

    def unary(self) -> tuple:
        if self.peek() == ("op", "-"):
            self.take()
            return ("neg", self.unary())
        if self.peek() == ("op", "+"):
            self.take()
            return self.unary()
        return self.power()

    def power(self) -> tuple:
        base = self.atom()
        if self.peek() == ("op", "^"):
            self.take()
            return ("^", base, self.unary())
        return base

    def atom(self) -> tuple:
        kind, text = self.take()
        if kind == "num":
            return ("num", float(text))
        if kind == "name" and self.peek() == ("op", "("):
            if text not in _FUNCTIONS:
                raise self.fail(f"unknown function {text}(); use {', '.join(sorted(_FUNCTIONS))}")
            self.take()
            arg = self.sum()
            if self.take() != ("op", ")"):
                raise self.fail("expected ')'")
            return ("call", text, arg)
        if kind == "name":
            return ("name", text)
        if (kind, text) == ("op", "("):
            inner = self.sum()
            if self.take() != ("op", ")"):
                raise self.fail("expected ')'")
            return inner
        shown = "the end of the expression" if kind == "end" else repr(text)
        raise self.fail(f"expected a number, a label or '(', found {shown}")


def _names(tree: tuple) -> set[str]:
    if tree[0] == "name":
        return {tree[1]}
    if tree[0] == "num":
        return set()
    return set().union(*(_names(t) for t in tree[1:] if isinstance(t, tuple)))


def _eval(tree: tuple, env: dict):
    kind = tree[0]
    if kind == "num":
        return tree[1]
    if kind == "name":
        return env[tree[1]]
    if kind == "neg":
        return -_eval(tree[1], env)
    if kind == "call":
        arg = _eval(tree[2], env)
        return _abs(arg) if tree[1] == "abs" else _FUNCTIONS[tree[1]](arg)
    left, right = _eval(tree[1], env), _eval(tree[2], env)
    if kind == "+":
        return left + right
    if kind == "-":
        return left - right
    if kind == "*":
        return left * right
    if kind == "/":
        return left / right
    return left**right


def compile_definitions(parsed: ParsedModel, spec: ModelSpec) -> tuple[Definition, ...]:
    """The model's ``:=`` statements, checked: every name is a label or an earlier definition."""
    labels = {lab for lab in spec.table.label if lab}
    out: list[Definition] = []
    for s in parsed.statements:
        if s.op != ":=":
            continue
        if s.lhs in labels or s.lhs in {d.name for d in out}:
            raise ValueError(f"defined parameter {s.lhs!r} has the name of another parameter")
        tree = _ExprParser(s.rhs, s.lhs).parse()
        names = _names(tree)
        known = labels | {d.name for d in out}
        unknown = sorted(names - known)
        if unknown:
            raise ValueError(
                f"the definition of {s.lhs!r} uses {', '.join(map(repr, unknown))}, which "
                "is not a parameter label (label parameters with 'a*x') or an earlier definition"
            )
        out.append(Definition(s.lhs, s.rhs, tree, tuple(sorted(names))))
    return tuple(out)


def _label_rows(spec: ModelSpec) -> dict[str, int]:
    rows: dict[str, int] = {}
    for i, lab in enumerate(spec.table.label):
        if lab and lab not in rows:
            rows[lab] = i
    return rows


def evaluate_definitions(definitions, spec: ModelSpec, row_values: np.ndarray) -> np.ndarray:
    """Values of the definitions (last axis) for table row values (leading axes allowed)."""
    rows = _label_rows(spec)
    env = {lab: row_values[..., i] for lab, i in rows.items()}
    out = []
    with np.errstate(all="ignore"):
        for d in definitions:
            value = _eval(d.tree, env) * np.ones(row_values.shape[:-1])
            env[d.name] = value
            out.append(value)
    return np.stack(out, axis=-1) if out else np.zeros(row_values.shape[:-1] + (0,))


def definition_jacobian(definitions, spec: ModelSpec, theta: np.ndarray) -> np.ndarray:
    """d(definitions)/d(theta) (n_def x q) by complex steps."""
    q = spec.n_free
    h = 1e-30
    x = spec.row_values(theta + 1j * h * np.eye(q))  # q x rows
    return (evaluate_definitions(definitions, spec, x).imag / h).T
