"""Parser for the subset of lavaan model syntax used for confirmatory factor analysis.

Supported (Rosseel, 2012, https://doi.org/10.18637/jss.v048.i02, section "model syntax"):

- ``f =~ x1 + x2 + x3``   measurement (a factor whose indicators are factors is second order);
- ``x1 ~~ x2``            (residual) variance or covariance;
- ``x1 ~ 1``              intercept of an indicator or mean of a factor;
- ``f3 ~ f1 + x``         regression of a factor (or of an observed variable that is not an
  indicator) on factors and observed covariates (structural paths, MIMIC);
- ``ind := a*b``          a defined parameter: a function of labelled parameters written with
  numbers, labels, ``+ - * / ^``, parentheses and ``exp``, ``log``, ``sqrt``, ``abs``
  (statement ``ind`` ``:=`` with the expression, spaces removed, as ``rhs``, as lavaan does);
- modifiers before a variable, joined with ``*``: a number fixes (``1*x``, ``0*x``), ``NA``
  frees (``NA*x`` frees a marker), a name labels (``a*x``; a shared label means equality),
  ``c(...)`` gives one modifier per group, ``start(0.5)`` gives a starting value; modifiers may be
  chained (``NA*a*x``) or given by repeating the variable (``NA*x1 + a*x1``);
- ``+`` between terms, a line ending in ``+`` (or in an operator) continues on the next line;
- ``;`` separates statements; ``#`` and ``!`` start comments.

Constraints between labelled parameters (one statement each, kept in
:attr:`ParsedModel.constraints`):

- ``a == b``, ``a == 2*b``, ``a + b == 1``, ``l5 - 0.5*l2 == 0.1``: linear equality constraints
  (sums of number-times-label terms and numbers on either side; ``/ number`` divides);
- ``a > 0``, ``a < b``, ``v1 > 0.1``: linear inequality constraints.

Nonlinear constraints (``a == b^2``, ``a*b == 1``) raise :class:`ModelSyntaxError`.

Anything else (``<=``, ``>=``, thresholds ``|``, formative ``<~``)
raises :class:`ModelSyntaxError` naming the line and column.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

__all__ = [
    "Constraint",
    "ModelSyntaxError",
    "Modifier",
    "ParsedModel",
    "Statement",
    "parse_model",
]

_SUPPORTED_OPS = ("=~", "~~", "~1", "~", ":=")


class ModelSyntaxError(ValueError):
    """A model description that cannot be parsed; ``line`` and ``column`` are 1-based."""

    def __init__(self, message: str, line: int, column: int):
        self.message = message
        self.line = line
        self.column = column
        super().__init__(f"line {line}, column {column}: {message}")


@dataclass(frozen=True)
class Modifier:
    """Modifiers of one term; each tuple has one entry (all groups) or one per group.

    ``fixed`` entries are a number (fixed value), ``None`` for ``NA`` (explicitly free); the tuple
    itself is ``None`` when no value was given.
    """

    fixed: tuple[float | None, ...] | None = None
    label: tuple[str | None, ...] | None = None
    start: tuple[float | None, ...] | None = None

    def merge(self, other: Modifier, line: int, column: int) -> Modifier:
        values = {}
        for name in ("fixed", "label", "start"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine is not None and theirs is not None and mine != theirs:
                raise ModelSyntaxError(
                    f"conflicting {name} modifiers for one parameter", line, column
                )
            values[name] = mine if mine is not None else theirs
        return Modifier(**values)


@dataclass(frozen=True)
class Statement:
    """One parameter as written: ``lhs op rhs`` with its modifiers and source position."""

    lhs: str
    op: str
    rhs: str
    modifier: Modifier = field(default_factory=Modifier)
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class Constraint:
    """A linear constraint ``lhs op rhs`` between labels, ``op`` one of ``==``, ``<``, ``>``.

    ``lhs`` and ``rhs`` are the sides as written without spaces (lavaan's parameter table
    spells them so); ``terms`` ((label, coefficient), ...) and ``constant`` give
    lhs - rhs = sum(coefficient * label) + constant.
    """

    lhs: str
    op: str
    rhs: str
    terms: tuple[tuple[str, float], ...]
    constant: float
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class ParsedModel:
    """The statements of a model, with the latent and observed variable names in order."""

    statements: tuple[Statement, ...]
    latent: tuple[str, ...]
    observed: tuple[str, ...]
    constraints: tuple[Constraint, ...] = ()

    def indicators(self, factor: str) -> list[str]:
        return [s.rhs for s in self.statements if s.op == "=~" and s.lhs == factor]


_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r]+)
  | (?P<newline>\n)
  | (?P<semi>;)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<name>[A-Za-z_.][A-Za-z0-9_.]*)
  | (?P<op>=~|~~|~\*~|<~|:=|==|<=|>=|~|<|>|\||%|\+|\*|\(|\)|,|-|/|\^)
  | (?P<string>"[^"\n]*"|'[^'\n]*')
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    line: int
    column: int


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "#!":
            return line[:i]
    return line


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = _strip_comment(raw)
        pos = 0
        while pos < len(line):
            match = _TOKEN.match(line, pos)
            if match is None:
                raise ModelSyntaxError(f"unexpected character {line[pos]!r}", lineno, pos + 1)
            kind = match.lastgroup or ""
            if kind != "space":
                tokens.append(_Token(kind, match.group(), lineno, pos + 1))
            pos = match.end()
        tokens.append(_Token("newline", "\n", lineno, len(line) + 1))
    tokens.append(_Token("end", "", max(1, len(text.split("\n"))), 1))
    return tokens


_UNSUPPORTED = {
    "<=": "inequality constraints ('<=') are not supported; write '<'",
    ">=": "inequality constraints ('>=') are not supported; write '>'",
    "|": "thresholds ('|') are not supported",
    "<~": "formative indicators ('<~') are not supported",
    "~*~": "scale factors ('~*~') are not supported",
    "%": "block syntax ('%') is not supported",
}


_CONSTRAINT_OPS = ("==", "<", ">")


class _Parser:
    def __init__(self, tokens: list[_Token]):
        self.tokens = tokens
        self.pos = 0
        self.constraints: list[Constraint] = []

    def peek(self, skip_newlines: bool = False) -> _Token:
        pos = self.pos
        while skip_newlines and self.tokens[pos].kind == "newline":
            pos += 1
        return self.tokens[pos]

    def take(self, skip_newlines: bool = False) -> _Token:
        if skip_newlines:
            while self.tokens[self.pos].kind == "newline":
                self.pos += 1
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    @staticmethod
    def fail(message: str, tok: _Token) -> ModelSyntaxError:
        return ModelSyntaxError(message, tok.line, tok.column)

    def statements(self) -> list[Statement]:
        out: list[Statement] = []
        while True:
            tok = self.peek()
            if tok.kind == "end":
                return out
            if tok.kind in ("newline", "semi"):
                self.take()
                continue
            if self._constraint_ahead():
                self.constraints.append(self.constraint())
                continue
            out.extend(self.statement())
            end = self.peek()
            if end.kind not in ("newline", "semi", "end"):
                raise self.fail(
                    f"unexpected {end.text!r}; expected '+' or the end of the statement", end
                )

    def statement(self) -> list[Statement]:
        lhs = self.take()
        if lhs.kind != "name":
            raise self.fail(f"expected a variable name, found {lhs.text!r}", lhs)
        op = self.take()
        if op.kind != "op" or op.text in ("+", "*", "(", ")", ",", "-"):
            shown = "the end of the line" if op.kind in ("newline", "end") else repr(op.text)
            raise self.fail(
                f"expected an operator ('=~' or '~~') after {lhs.text!r}, found {shown}", op
            )
        if op.text == "~":
            terms = self.rhs(allow_one=True)
            if len(terms) == 1 and terms[0][0] == "1":
                return [Statement(lhs.text, "~1", "", terms[0][1], lhs.line, lhs.column)]
            return self.regression(lhs, terms)
        if op.text == ":=":
            return [self.definition(lhs, op)]
        if op.text in _UNSUPPORTED:
            raise self.fail(_UNSUPPORTED[op.text], op)
        terms = self.rhs(allow_one=False)
        merged: dict[str, tuple[Modifier, _Token]] = {}
        for name, mod, tok in terms:
            if op.text == "=~" and name == lhs.text:
                raise self.fail(f"factor {name!r} cannot be its own indicator", tok)
            if name in merged:
                merged[name] = (merged[name][0].merge(mod, tok.line, tok.column), merged[name][1])
            else:
                merged[name] = (mod, tok)
        return [
            Statement(lhs.text, op.text, name, mod, tok.line, tok.column)
            for name, (mod, tok) in merged.items()
        ]

    def regression(self, lhs: _Token, terms: list) -> list[Statement]:
        """``lhs ~ x + y``: one statement per regressor (modifiers merged as for ``=~``)."""
        merged: dict[str, tuple[Modifier, _Token]] = {}
        out: list[Statement] = []
        for name, mod, tok in terms:
            if name == "1":  # 'y ~ 1 + x': the intercept and the regression
                out.append(Statement(lhs.text, "~1", "", mod, lhs.line, lhs.column))
                continue
            if name == lhs.text:
                raise self.fail(f"{name!r} cannot be regressed on itself", tok)
            if name in merged:
                merged[name] = (merged[name][0].merge(mod, tok.line, tok.column), merged[name][1])
            else:
                merged[name] = (mod, tok)
        return out + [
            Statement(lhs.text, "~", name, mod, tok.line, tok.column)
            for name, (mod, tok) in merged.items()
        ]

    def definition(self, lhs: _Token, op: _Token) -> Statement:
        """``name := expression``: the expression's tokens up to the end of the statement (a
        line ending in an operator or inside parentheses continues on the next line)."""
        parts: list[str] = []
        depth = 0
        while True:
            tok = self.peek()
            if tok.kind == "newline" and (
                depth > 0 or (parts and parts[-1] in ("+", "-", "*", "/", "^", "("))
            ):
                self.take()
                continue
            if tok.kind in ("newline", "semi", "end"):
                break
            if tok.kind not in ("name", "number") and tok.text not in "+-*/^(),":
                raise self.fail(f"unexpected {tok.text!r} in the definition of {lhs.text!r}", tok)
            depth += tok.text == "("
            depth -= tok.text == ")"
            parts.append(tok.text)
            self.take()
        if not parts:
            raise self.fail(f"the definition of {lhs.text!r} is empty", op)
        return Statement(lhs.text, ":=", "".join(parts), Modifier(), lhs.line, lhs.column)

    def _constraint_ahead(self) -> bool:
        pos = self.pos
        while self.tokens[pos].kind not in ("newline", "semi", "end"):
            if self.tokens[pos].kind == "op" and self.tokens[pos].text in _CONSTRAINT_OPS:
                return True
            pos += 1
        return False

    def constraint(self) -> Constraint:
        """``expr (== | < | >) expr`` with linear expressions in labels and numbers."""
        first = self.peek()
        left, left_text = self.linear()
        op = self.take()
        if op.kind != "op" or op.text not in _CONSTRAINT_OPS:
            raise self.fail(f"expected '==', '<' or '>', found {op.text!r}", op)
        right, right_text = self.linear()
        end = self.peek()
        if end.kind not in ("newline", "semi", "end"):
            raise self.fail(f"unexpected {end.text!r} in a constraint", end)
        terms: dict[str, float] = {}
        for name, coef in left[0]:
            terms[name] = terms.get(name, 0.0) + coef
        for name, coef in right[0]:
            terms[name] = terms.get(name, 0.0) - coef
        terms = {k: v for k, v in terms.items() if v != 0.0}
        if not terms:
            raise self.fail("a constraint needs at least one parameter label", first)
        return Constraint(
            left_text,
            op.text,
            right_text,
            tuple(terms.items()),
            left[1] - right[1],
            first.line,
            first.column,
        )

    def linear(self) -> tuple[tuple[list[tuple[str, float]], float], str]:
        """A linear expression: [(label, coefficient)], constant, and its text without spaces."""
        start = self.pos
        terms: list[tuple[str, float]] = []
        constant = 0.0
        sign = 1.0
        tok = self.peek()
        if tok.kind == "op" and tok.text in ("+", "-"):
            sign = -1.0 if tok.text == "-" else 1.0
            self.take()
        while True:
            coef, name = sign, None
            while True:
                tok = self.take()
                if tok.kind == "number":
                    coef *= float(tok.text)
                elif tok.kind == "name" and tok.text != "NA":
                    if name is not None:
                        raise self.fail(
                            "nonlinear constraints (a product of two parameters) are not "
                            "supported; only linear ones such as 'a == 2*b' or 'a + b == 1'",
                            tok,
                        )
                    name = tok.text
                else:
                    raise self.fail(
                        f"expected a label or a number in a constraint, found {tok.text!r}", tok
                    )
                while self.peek().kind == "op" and self.peek().text == "/":
                    self.take()
                    div = self.take()
                    if div.kind != "number" or float(div.text) == 0.0:
                        raise self.fail(
                            "only division by a non-zero number is supported in a constraint",
                            div,
                        )
                    coef /= float(div.text)
                nxt = self.peek()
                if nxt.kind == "op" and nxt.text == "*":
                    self.take()
                    continue
                if nxt.kind == "op" and nxt.text in ("^", "(", ")"):
                    raise self.fail(
                        "nonlinear constraints and parentheses are not supported; only linear "
                        "ones such as 'a == 2*b' or 'a + b == 1'",
                        nxt,
                    )
                break
            if name is None:
                constant += coef
            else:
                terms.append((name, coef))
            nxt = self.peek()
            if nxt.kind == "op" and nxt.text in ("+", "-"):
                self.take()
                sign = -1.0 if nxt.text == "-" else 1.0
                continue
            break
        text = "".join(t.text for t in self.tokens[start : self.pos])
        return (terms, constant), text

    def rhs(self, allow_one: bool) -> list[tuple[str, Modifier, _Token]]:
        terms = [self.term(allow_one)]
        while self.peek().kind == "op" and self.peek().text == "+":
            self.take()
            terms.append(self.term(allow_one))
        return terms

    def term(self, allow_one: bool) -> tuple[str, Modifier, _Token]:
        mod = Modifier()
        while True:
            # A term always follows an operator, '+' or '*': a line break here continues the line.
            prev = self.tokens[self.pos - 1]
            while self.peek().kind == "newline":
                self.take()
            tok = self.peek()
            if tok.kind in ("end", "semi"):
                raise ModelSyntaxError(
                    "expected a variable name, found the end of the statement",
                    prev.line,
                    prev.column + len(prev.text),
                )
            after = self._after_value(tok)
            if after is not None and after.kind == "op" and after.text == "*":
                mod = mod.merge(self.modifier(), tok.line, tok.column)
                star = self.take()
                assert star.text == "*"
                continue
            self.take(skip_newlines=True)
            if tok.kind == "name" and tok.text != "NA":
                return tok.text, mod, tok
            if allow_one and tok.kind == "number" and float(tok.text) == 1.0:
                return "1", mod, tok
            raise self.fail(f"expected a variable name, found {tok.text!r}", tok)

    def _after_value(self, tok: _Token) -> _Token | None:
        """The token after the modifier starting at ``tok`` (None if ``tok`` starts none)."""
        pos = self.pos
        while self.tokens[pos].kind == "newline":
            pos += 1
        if tok.kind == "op" and tok.text == "-":
            pos += 1
            tok = self.tokens[pos]
        if tok.kind == "name" and self.tokens[pos + 1].text == "(":
            depth = 0
            while True:
                t = self.tokens[pos]
                if t.kind == "end":
                    return None
                depth += t.text == "("
                depth -= t.text == ")"
                pos += 1
                if depth == 0 and t.text == ")":
                    return self.tokens[pos]
        if tok.kind in ("name", "number", "string"):
            return self.tokens[pos + 1]
        return None

    def value(self) -> tuple[str, float | str | None]:
        tok = self.take(skip_newlines=True)
        sign = 1.0
        if tok.kind == "op" and tok.text == "-":
            sign = -1.0
            tok = self.take()
            if tok.kind != "number":
                raise self.fail("expected a number after '-'", tok)
        if tok.kind == "number":
            return "fixed", sign * float(tok.text)
        if tok.kind == "name" and tok.text == "NA":
            return "fixed", None
        if tok.kind == "name":
            return "label", tok.text
        if tok.kind == "string":
            return "label", tok.text[1:-1]
        raise self.fail(f"expected a number, NA or a label, found {tok.text!r}", tok)

    def modifier(self) -> Modifier:
        tok = self.peek(skip_newlines=True)
        if tok.kind == "name" and self.tokens[self.pos + 1].text == "(":
            func = self.take(skip_newlines=True)
            self.take()
            values = [self.value()]
            while self.peek().text == ",":
                self.take()
                values.append(self.value())
            close = self.take(skip_newlines=True)
            if close.text != ")":
                raise self.fail(f"expected ')', found {close.text!r}", close)
            if func.text == "c":
                kinds = {kind for kind, _ in values}
                if len(kinds) > 1:
                    raise self.fail("c(...) mixes numbers and labels", func)
                kind = kinds.pop()
                vals = tuple(v for _, v in values)
                return Modifier(fixed=vals) if kind == "fixed" else Modifier(label=vals)
            if func.text == "start":
                if any(kind != "fixed" or v is None for kind, v in values):
                    raise self.fail("start(...) takes numbers", func)
                return Modifier(start=tuple(v for _, v in values))
            raise self.fail(f"unsupported modifier function {func.text!r}()", func)
        kind, val = self.value()
        if kind == "fixed":
            if val is not None and not math.isfinite(val):
                raise self.fail("fixed values must be finite", tok)
            return Modifier(fixed=(val,))
        return Modifier(label=(val,))


def parse_model(text: str) -> ParsedModel:
    """Parse lavaan-style CFA syntax into statements.

    Parameters
    ----------
    text : str
        The model, e.g. ``"visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6"``.

    Returns
    -------
    ParsedModel
        ``statements`` (one per parameter written), ``latent`` (factors, in order of first
        definition) and ``observed`` (indicators and other observed names, in order of appearance).

    Raises
    ------
    ModelSyntaxError
        With ``line`` and ``column`` of the offending token.

    References
    ----------
    Rosseel, Y. (2012). lavaan: An R package for structural equation modeling. *Journal of
    Statistical Software, 48*(2), 1-36. https://doi.org/10.18637/jss.v048.i02

    Examples
    --------
    >>> m = parse_model("f =~ x1 + a*x2 + a*x3  # tau-equivalent pair\\nx1 ~~ x2")
    >>> m.latent, m.observed
    (('f',), ('x1', 'x2', 'x3'))
    >>> [(s.lhs, s.op, s.rhs, s.modifier.label) for s in m.statements][:2]
    [('f', '=~', 'x1', None), ('f', '=~', 'x2', ('a',))]
    """
    if not isinstance(text, str):
        raise TypeError("model must be a string")
    parser = _Parser(_tokenize(text))
    statements = parser.statements()
    if not statements:
        raise ModelSyntaxError("the model is empty", 1, 1)
    latent: list[str] = []
    for s in statements:
        if s.op == "=~" and s.lhs not in latent:
            latent.append(s.lhs)
    observed: list[str] = []
    for s in statements:
        if s.op == ":=":
            continue
        names = [s.rhs] if s.op == "=~" else [s.lhs, s.rhs] if s.op in ("~~", "~") else [s.lhs]
        for name in names:
            if name not in latent and name not in observed:
                observed.append(name)
    _check_structure(statements, latent)
    return ParsedModel(tuple(statements), tuple(latent), tuple(observed), tuple(parser.constraints))


def _check_structure(statements: list[Statement], latent: list[str]) -> None:
    seen: dict[tuple[str, str, str], Statement] = {}
    for s in statements:
        key = (s.lhs, s.op, s.rhs)
        if s.op == "~~":
            key = (min(s.lhs, s.rhs), s.op, max(s.lhs, s.rhs))
        if key in seen:
            raise ModelSyntaxError(
                f"parameter '{s.lhs} {s.op} {s.rhs}' is specified twice", s.line, s.column
            )
        seen[key] = s
    # A factor measured (directly or indirectly) by itself has no meaning.
    parents = {
        f: {s.rhs for s in statements if s.op == "=~" and s.lhs == f} & set(latent) for f in latent
    }

    def reaches(start: str, target: str, path: frozenset[str]) -> bool:
        return any(
            c == target or (c not in path and reaches(c, target, path | {c}))
            for c in parents.get(start, ())
        )

    for s in statements:
        if s.op == "=~" and s.rhs in latent and reaches(s.rhs, s.lhs, frozenset({s.rhs})):
            raise ModelSyntaxError(
                f"factors {s.lhs!r} and {s.rhs!r} measure each other", s.line, s.column
            )
