"""Tests of psychometrics.syntax: the lavaan-style model parser."""

import pytest

from psychometrics.syntax import ModelSyntaxError, Modifier, parse_model


def triples(model):
    return [(s.lhs, s.op, s.rhs) for s in model.statements]


def test_measurement_model_orders_latent_and_observed_by_appearance():
    m = parse_model("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6")
    assert m.latent == ("visual", "textual")
    assert m.observed == ("x1", "x2", "x3", "x4", "x5", "x6")
    assert triples(m)[:2] == [("visual", "=~", "x1"), ("visual", "=~", "x2")]
    assert m.indicators("textual") == ["x4", "x5", "x6"]


def test_variances_and_covariances():
    m = parse_model("f =~ a + b + c\na ~~ b\nf ~~ 1*f")
    assert ("a", "~~", "b") in triples(m)
    var = [s for s in m.statements if s.lhs == "f" and s.op == "~~"][0]
    assert var.modifier.fixed == (1.0,)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("f =~ 1*x1 + x2 + x3", Modifier(fixed=(1.0,))),
        ("f =~ 0*x1 + x2 + x3", Modifier(fixed=(0.0,))),
        ("f =~ -0.5*x1 + x2 + x3", Modifier(fixed=(-0.5,))),
        ("f =~ 1e-1*x1 + x2 + x3", Modifier(fixed=(0.1,))),
        ("f =~ NA*x1 + x2 + x3", Modifier(fixed=(None,))),
        ("f =~ lab*x1 + x2 + x3", Modifier(label=("lab",))),
        ("f =~ NA*lab*x1 + x2 + x3", Modifier(fixed=(None,), label=("lab",))),
        ("f =~ NA*x1 + lab*x1 + x2 + x3", Modifier(fixed=(None,), label=("lab",))),
        ("f =~ start(0.7)*x1 + x2 + x3", Modifier(start=(0.7,))),
        ("f =~ c(1, NA)*x1 + x2 + x3", Modifier(fixed=(1.0, None))),
        ("f =~ c(a, b)*x1 + x2 + x3", Modifier(label=("a", "b"))),
    ],
)
def test_modifiers(text, expected):
    first = parse_model(text).statements[0]
    assert first.rhs == "x1"
    assert first.modifier == expected


def test_repeated_term_merges_into_one_parameter():
    m = parse_model("f =~ NA*x1 + x2 + a*x1 + x3")
    assert [s.rhs for s in m.statements] == ["x1", "x2", "x3"]


def test_shared_labels_are_kept_for_equality():
    m = parse_model("f =~ x1 + a*x2 + a*x3")
    assert [s.modifier.label for s in m.statements] == [None, ("a",), ("a",)]


def test_continuation_semicolons_and_comments():
    text = """
    # a comment line
    visual =~ x1 + x2 +   # continues
              x3          ! another comment style
    textual =~ x4 + x5 + x6; speed =~ x7 +
        x8 + x9
    """
    m = parse_model(text)
    assert m.latent == ("visual", "textual", "speed")
    assert m.indicators("visual") == ["x1", "x2", "x3"]
    assert m.indicators("speed") == ["x7", "x8", "x9"]


def test_line_ending_in_operator_continues():
    m = parse_model("f =~\n  x1 + x2 + x3")
    assert m.indicators("f") == ["x1", "x2", "x3"]


def test_second_order_factor_is_latent_with_latent_indicators():
    m = parse_model("a =~ x1 + x2 + x3\nb =~ x4 + x5 + x6\ng =~ a + b")
    assert m.latent == ("a", "b", "g")
    assert "a" not in m.observed
    assert m.indicators("g") == ["a", "b"]


def test_intercepts():
    m = parse_model("f =~ x1 + x2 + x3\nx1 ~ 1\nf ~ 0*1")
    means = [s for s in m.statements if s.op == "~1"]
    assert [(s.lhs, s.modifier.fixed) for s in means] == [("x1", None), ("f", (0.0,))]


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ("f =~ x1 + x2\ny ~ y", 2, 5, "regressed on itself"),
        ("f =~ x1 + x2\nd := a*b ~ c", 2, 10, "definition of 'd'"),
        ("f =~ a*x1 + b*x2\na == b^2", 2, 7, "nonlinear"),
        ("f =~ a*x1 + b*x2\na*b == 1", 2, 3, "nonlinear"),
        ("f =~ x1 + x2\nx1 | t1", 2, 4, "thresholds"),
        ("f =~ x1 + x2\na >= 1", 2, 3, "inequality"),
        ("f <~ x1 + x2", 1, 3, "formative"),
        ("f =~ x1 +", 1, 10, "end of the statement"),
        ("f =~ x1\nx1 ~~", 2, 6, "end of the statement"),
        ("f x1 x2", 1, 3, "expected an operator"),
        ("f =~ x1 x2", 1, 9, "unexpected 'x2'"),
        ("f =~ x1 + 2", 1, 11, "expected a variable name"),
        ("=~ x1", 1, 1, "expected a variable name"),
        ("f =~ x1 + x$", 1, 12, "unexpected character"),
        ("f =~ x1 + x2\nf =~ x2", 2, 6, "specified twice"),
        ("f =~ f + x1", 1, 6, "its own indicator"),
        ("f =~ 1*x1 + 2*x1", 1, 15, "conflicting fixed"),
        ("f =~ foo(1)*x1", 1, 6, "unsupported modifier"),
        ("a =~ b + x1\nb =~ a + x2", 1, 6, "measure each other"),
        ("   \n# nothing\n", 1, 1, "empty"),
    ],
)
def test_errors_name_line_and_column(text, line, column, fragment):
    with pytest.raises(ModelSyntaxError) as info:
        parse_model(text)
    err = info.value
    assert (err.line, err.column) == (line, column)
    assert fragment in err.message
    assert isinstance(err, ValueError)
    assert str(err).startswith(f"line {line}, column {column}:")


def test_non_string_model_is_a_type_error():
    with pytest.raises(TypeError):
        parse_model(None)


def test_regressions_and_definitions():
    m = parse_model(
        "f1 =~ x1 + x2\nf2 =~ x3 + x4\nf2 ~ a*f1 + 0.5*age\nind := a*b/(1 - a)^2 +\n exp(a)"
    )
    reg = [(s.lhs, s.rhs, s.modifier.label, s.modifier.fixed) for s in m.statements if s.op == "~"]
    assert reg == [("f2", "f1", ("a",), None), ("f2", "age", None, (0.5,))]
    assert m.observed == ("x1", "x2", "x3", "x4", "age")
    (d,) = [s for s in m.statements if s.op == ":="]
    assert (d.lhs, d.rhs) == ("ind", "a*b/(1-a)^2+exp(a)")


def test_regression_with_intercept():
    m = parse_model("f =~ x1 + x2\ny ~ 1 + b*f")
    assert [(s.lhs, s.op, s.rhs) for s in m.statements][2:] == [("y", "~1", ""), ("y", "~", "f")]
