"""Your own formula: the whitelist parser, its torch function, and its place in the app's state.

Property-based tests (hypothesis, derandomized so a run is reproducible): random expressions drawn
from the grammar evaluate to the same values as a direct numpy computation of the same tree, and
random hostile strings are rejected with FormulaError without any side effect.
"""

from __future__ import annotations

import builtins
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimizers
from app import compute, explorer_link
from app.state import AppState, OptimizerEntry
from landscapes.formula import (
    DEFAULT_FORMULA,
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_LENGTH,
    FormulaError,
    custom_landscape,
    parse,
)

PROPERTY = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
RNG = np.random.default_rng(7)
POINTS = np.concatenate([RNG.uniform(-3, 3, (40, 2)), [[0.0, 0.0], [1.0, -1.0], [-2.5, 0.5]]])

UNARY_NP = {
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "tanh": np.tanh,
    "abs": np.abs,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "arctan": np.arctan,
    "atan": np.arctan,
}
BINARY_NP = {"min": np.minimum, "max": np.maximum}
EXPONENT_VALUES = {"2": 2.0, "3": 3.0, "0.5": 0.5, "-1": -1.0, "-2": -2.0, "1.5": 1.5, "4": 4.0}
EXPONENT_VALUES["(1/3)"] = 1 / 3
USES_XY = re.compile(r"\b[xy]\b")
OPS_NP = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}


# -- a grammar of expressions, each with its own numpy evaluation ----------------------------------


def _leaf() -> st.SearchStrategy:
    number = st.floats(-5, 5, allow_nan=False).map(lambda v: round(v, 3))
    return st.one_of(
        st.just(("x", lambda x, y: x)),
        st.just(("y", lambda x, y: y)),
        st.just(("pi", lambda x, y: np.full_like(x, math.pi))),
        st.just(("e", lambda x, y: np.full_like(x, math.e))),
        number.map(lambda v: (repr(v), lambda x, y, v=v: np.full_like(x, v))),
    )


def _extend(children: st.SearchStrategy) -> st.SearchStrategy:
    def binop(args):
        (a, fa), op, (b, fb) = args
        return f"({a}) {op} ({b})", lambda x, y: OPS_NP[op](fa(x, y), fb(x, y))

    def power(args):
        (a, fa), p, caret = args
        sym = "^" if caret else "**"
        return f"({a}){sym}{p}", lambda x, y: np.power(fa(x, y), EXPONENT_VALUES[p])

    def xpower(args):  # an exponent that depends on x, y: allowed
        (a, fa), (b, fb) = args
        return f"({a})**({b})", lambda x, y: np.power(fa(x, y), fb(x, y))

    def unary(args):
        name, (a, fa) = args
        return f"{name}({a})", lambda x, y: UNARY_NP[name](fa(x, y))

    def binary(args):
        name, (a, fa), (b, fb) = args
        return f"{name}({a}, {b})", lambda x, y: BINARY_NP[name](fa(x, y), fb(x, y))

    def neg(child):
        a, fa = child
        return f"-({a})", lambda x, y: -fa(x, y)

    exponents = st.sampled_from(list(EXPONENT_VALUES))
    return st.one_of(
        st.tuples(children, st.sampled_from(list(OPS_NP)), children).map(binop),
        st.tuples(children, exponents, st.booleans()).map(power),
        st.tuples(children, children.filter(lambda e: USES_XY.search(e[0]))).map(xpower),
        st.tuples(st.sampled_from(list(UNARY_NP)), children).map(unary),
        st.tuples(st.sampled_from(list(BINARY_NP)), children, children).map(binary),
        children.map(neg),
    )


EXPRESSIONS = st.recursive(_leaf(), _extend, max_leaves=12).filter(
    lambda e: len(e[0]) <= MAX_LENGTH
)


def _same(actual: np.ndarray, expected: np.ndarray) -> bool:
    """Equal up to rounding, NaN where the other is NaN, infinities of the same sign."""
    nan_a, nan_e = np.isnan(actual), np.isnan(expected)
    if not np.array_equal(nan_a, nan_e):
        return False
    ok = ~nan_a
    return bool(np.allclose(actual[ok], expected[ok], rtol=1e-6, atol=1e-9))


@PROPERTY
@given(EXPRESSIONS)
def test_random_expressions_match_a_direct_numpy_computation(expr):
    text, reference = expr
    formula = parse(text)
    with np.errstate(all="ignore"):
        expected = reference(POINTS[:, 0].copy(), POINTS[:, 1].copy())
    actual = formula(torch.as_tensor(POINTS)).numpy()
    assert actual.shape == (len(POINTS),)
    assert _same(actual, expected), (text, actual, expected)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("-x**2", lambda x, y: -(x**2)),  # unary minus binds looser than **
        ("2**-1 + x", lambda x, y: 0.5 + x),
        ("x^2^2", lambda x, y: x**4),  # right-associative, like **
        ("x - y - 1", lambda x, y: (x - y) - 1),
        ("x / y / 2", lambda x, y: (x / y) / 2),
        ("2*pi*x + e", lambda x, y: 2 * math.pi * x + math.e),
        ("+x * -y", lambda x, y: x * -y),
        (
            "(x**2 + y - 11)**2 + (x + y**2 - 7)**2",
            lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
        ),
        ("3", lambda x, y: 3.0),
    ],
)
def test_precedence_and_associativity_follow_python(text, value):
    x, y = 1.7, -0.6
    assert float(parse(text)(torch.tensor([x, y], dtype=torch.float64))) == pytest.approx(
        value(x, y), rel=1e-12
    )


def test_gradients_and_hessians_come_from_autograd():
    land = custom_landscape("x**3 + 2*x*y + sin(y)")
    points = torch.tensor([[0.5, -1.0], [2.0, 0.3]], dtype=torch.float64)
    _, grad = land.value_and_grad(points)
    x, y = points[:, 0], points[:, 1]
    expected = torch.stack([3 * x**2 + 2 * y, 2 * x + torch.cos(y)], dim=-1)
    assert torch.allclose(grad, expected, rtol=1e-12)
    hess = land.hessian(points)
    assert torch.allclose(hess[:, 0, 0], 6 * x) and torch.allclose(hess[:, 1, 1], -torch.sin(y))
    assert torch.allclose(hess[:, 0, 1], torch.full_like(x, 2.0))
    constant = custom_landscape("7")  # no x or y: still differentiable, gradient zero
    value, grad = constant.value_and_grad(points)
    assert value.tolist() == [7.0, 7.0] and grad.abs().max() == 0


def test_a_custom_surface_runs_in_the_engine_like_a_built_in_one():
    land = custom_landscape("x**2 + 3*y**2", domain=((-2, 2), (-1, 1)), start=(1.0, 1.0))
    assert land.minima == () and land.all_minima_known is False
    result = optimizers.simulate(land, [("gd", {"lr": 0.1}), "newton"], steps=3)
    # one gradient step from (1, 1): (1 - 0.1 * 2, 1 - 0.1 * 6)
    assert np.allclose(result.positions[0, 0, 1], [0.8, 0.4])
    assert np.allclose(result.positions[1, 0, 1], [0.0, 0.0], atol=1e-3)  # Newton: one step
    diverging = optimizers.simulate(land, [("gd", {"lr": 0.5})], steps=200)
    assert diverging.status[0, 0] == "diverged"
    xs, ys, z = land.grid(21)
    assert z.shape == (21, 21) and abs(z[10, 10]) < 1e-12 and xs[0] == -2 and ys[-1] == 1


def test_different_formulas_are_different_landscapes():
    a, b = custom_landscape("x**2 + y**2"), custom_landscape("x**2 + 2*y**2")
    assert a != b and a == custom_landscape("x**2 + y**2")
    assert a != custom_landscape("x**2 + y**2", domain=((-1, 1), (-1, 1)))


def test_latex_is_built_from_the_tree():
    assert parse("x^2 + sqrt(abs(y))/2").latex == r"{x}^{2} + \frac{\sqrt{\left|y\right|}}{2}"
    assert parse("-(x+y)*pi").latex == r"-\left(x + y\right) \cdot \pi"


# -- rejected input ---------------------------------------------------------------------------------

SENTINEL = Path("/tmp/optiscape_formula_sentinel")
HOSTILE = [
    "__import__('os').system('touch /tmp/optiscape_formula_sentinel')",
    "open('/tmp/optiscape_formula_sentinel', 'w')",
    "x.__class__.__mro__[1].__subclasses__()",
    "().__class__",
    "x.real",
    "x[0]",
    "lambda: x",
    "(lambda: 1)()",
    "[x for x in y]",
    "{x: y}",
    "import os",
    "eval('1')",
    "exec('1')",
    "compile('1', 'f', 'eval')",
    "getattr(x, 'y')",
    "sin(x=1)",
    "sin(*x)",
    "x if y else 1",
    "x < y",
    "x and y",
    "(x := 2)",
    "f'{x}'",
    "'text'",
    "b'x'",
    "1j * x",
    "True + x",
    "None",
    "x // 2",
    "x % 2",
    "x @ y",
    "~x",
    "not x",
    "x, y",
    "x**100",
    "x**-17",
    "2**(2**10)",
    "x ** 1e999",
    "9" * 400,
    "x" + "+x" * 200,
    "-" * 100 + "x",
    "sin(" * 40 + "x" + ")" * 40,
    "(" * 300 + "x" + ")" * 300,
    "",
    "   ",
    "x +",
    "sin",
    "sin(x, y)",
    "min(x)",
    "foo(x)",
    "X + y",
    "x\x00",
    "x + ÿ",
    "x; y",
    "x\ny",
    # comments: Python's parser would drop them, and the app would show and keep them
    "x**2 + y**2 # ![t](https://evil.example/p.png) [sign in](https://evil.example)",
    "x # comment",
    "#",
    # unicode look-alikes and invisible characters
    "\uff58 + y",  # full-width x
    "x + \u0443",  # Cyrillic u
    "x\u200b+ y",  # zero-width space
    "x\u202e+ y",  # right-to-left override
    "x\\\n+ y",  # a line continuation
]


@pytest.fixture
def no_eval(monkeypatch):
    """Make any use of eval or exec fail loudly while the parser runs."""

    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec called")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    parse("x")  # warm up whatever the first parse imports
    SENTINEL.unlink(missing_ok=True)
    modules = set(sys.modules)
    yield
    assert not SENTINEL.exists(), "a formula created a file"
    assert set(sys.modules) == modules, set(sys.modules) - modules


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_and_invalid_text_is_rejected_with_a_message(text, no_eval):
    with pytest.raises(FormulaError) as err:
        parse(text)
    assert len(str(err.value)) > 10


def test_a_comment_is_refused_and_never_reaches_the_notice():
    with pytest.raises(FormulaError, match=r"'#' at column 13 is not allowed: a formula has no"):
        parse("x**2 + y**2 # [sign in](https://evil.example)")
    surface = custom_landscape("x**2 + 10*y**2")
    assert "x**2" not in surface.notice  # the notice is the app's words; the formula is maths
    assert surface.formula == r"{x}^{2} + 10 \cdot {y}^{2}"


def test_messages_say_what_and_where():
    with pytest.raises(FormulaError, match=r"column 5: attribute access"):
        parse("1 + x.real")
    with pytest.raises(FormulaError, match=r"column 7: the function 'foo'"):
        parse("x^2 + foo(y)")  # the column counts the user's '^', not the '**' it became
    with pytest.raises(FormulaError, match=rf"between -{MAX_EXPONENT:g} and {MAX_EXPONENT:g}"):
        parse("x**20")
    with pytest.raises(FormulaError, match=f"at most {MAX_LENGTH}"):
        parse("x" + " " * 150 + "+ y" * 60)
    with pytest.raises(FormulaError, match=f"more than {MAX_DEPTH} levels"):
        parse("-" * (MAX_DEPTH + 1) + "x")


FRAGMENTS = [
    "__import__",
    "('os')",
    ".system",
    "('touch /tmp/optiscape_formula_sentinel')",
    "open",
    "('/tmp/optiscape_formula_sentinel','w')",
    ".__class__",
    ".__subclasses__()",
    "lambda",
    ":",
    "[",
    "]",
    "{",
    "}",
    "import os",
    "eval",
    "exec",
    "globals()",
    "x",
    "y",
    "sin(",
    "(",
    ")",
    "**",
    "^",
    "99",
    "9e9",
    "+",
    "-",
    "*",
    "/",
    ",",
    ";",
    " for ",
    " in ",
    " if ",
    "'",
    '"',
    "\\",
    "#",
]
IDENTIFIERS = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
ALLOWED_NAMES = {"x", "y", "pi", "e", *UNARY_NP, *BINARY_NP}


def _checked(text: str) -> None:
    """Parse ``text``: a FormulaError is fine; anything accepted must be plain arithmetic."""
    try:
        formula = parse(text)
    except FormulaError:
        return
    names = set(IDENTIFIERS.findall(re.sub(r"\d+\.?\d*e[+-]?\d+", "0", formula.text)))
    assert names <= ALLOWED_NAMES, (text, names)
    assert not set(formula.text) & set("[]{}'\"\\#;:@_"), text


@PROPERTY
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=12).map("".join))
def test_random_hostile_strings_are_rejected_without_side_effects(text):
    SENTINEL.unlink(missing_ok=True)
    modules = set(sys.modules)
    _checked(text)
    assert not SENTINEL.exists()
    assert set(sys.modules) == modules


@PROPERTY
@given(st.text(max_size=400))
def test_random_text_is_either_a_formula_or_a_formula_error(text):
    _checked(text)


# -- the app's state and compute ---------------------------------------------------------------------


def test_a_custom_view_round_trips_through_the_url():
    state = AppState(
        landscape="custom",
        formula="sin(3*x) + (x^2 + y^2)/4",
        domain=((-2.0, 4.0), (-1.0, 1.5)),
        optimizers=(OptimizerEntry.make("adam", lr=0.1),),
        start=(1.0, 1.0),
    )
    query = state.to_query()
    assert query["ls"] == "custom" and query["dom"] == "-2,4,-1,1.5"
    decoded, warnings = explorer_link.from_query(query)
    assert warnings == [] and decoded == state
    assert decoded.surface().formula == parse(state.formula).latex


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ({"ls": "custom", "fx": "__import__('os')"}, "fx: not allowed"),
        ({"ls": "custom", "fx": "x**99"}, "fx: the exponent"),
        ({"ls": "custom"}, "without fx"),
        ({"ls": "custom", "fx": "x", "dom": "3,-3,0,1"}, "dom: the domain needs"),
        ({"ls": "custom", "fx": "x", "dom": "1,2"}, "dom: it must be four numbers"),
        ({"ls": "custom", "fx": "x", "start": "9,9"}, "outside the plot"),
    ],
)
def test_a_bad_custom_link_warns_and_falls_back(query, needle):
    state, warnings = explorer_link.from_query(query)
    assert any(needle in w for w in warnings), warnings
    assert state.landscape == "custom"
    if "fx" not in query or "not allowed" in needle or "exponent" in needle:
        assert state.formula == DEFAULT_FORMULA
    state.surface()  # the fallback builds


def test_compute_runs_and_samples_a_custom_formula():
    state = AppState(
        landscape="custom",
        formula="x**2 + 3*y**2",
        optimizers=(OptimizerEntry.make("gd", lr=0.1),),
        steps=5,
    )
    surface = compute.surface(state.landscape, state.engine_params(), 11)
    assert abs(surface.z[5, 5]) < 1e-12 and surface.points == () and surface.group == "custom"
    (run,) = compute.runs(
        state.landscape, state.engine_params(), state.optimizers, state.start_point(), 5, 0
    )
    x0, y0 = state.start_point()
    assert np.allclose(run.positions[1], [x0 * 0.8, y0 * 0.4])
    other = AppState(landscape="custom", formula="x**2 + y**2", optimizers=state.optimizers)
    (run2,) = compute.runs(
        other.landscape, other.engine_params(), other.optimizers, other.start_point(), 5, 0
    )
    assert not np.allclose(run2.positions[1], run.positions[1])  # not served from the cache
