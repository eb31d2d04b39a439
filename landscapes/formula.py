"""Your own surface: a formula f(x, y) typed by the user, parsed under a whitelist into torch ops.

The text is never executed as code. It is parsed with ``ast.parse`` (which only builds a syntax
tree; nothing runs), every node of the tree is checked against a whitelist, and the accepted tree
is turned into a tree of closures that call torch functions. There is no ``eval``, ``exec`` or
``compile`` of the user's text, no attribute access, no subscripts, no lambdas, comprehensions,
keywords, starred arguments, comparisons, f-strings or imports: any of those is a
``FormulaError`` naming what is not allowed and the column where it starts.

Grammar (``^`` is read as ``**``, as in most calculators)::

    expr   := number | x | y | pi | e | expr op expr | -expr | +expr | (expr) | fn(expr[, expr])
    op     := + - * / **
    fn     := sin cos tan exp log sqrt tanh abs sinh cosh arctan atan   (one argument)
              min max                                                   (two arguments)

Bounds: at most ``MAX_LENGTH`` characters, ``MAX_NODES`` syntax-tree nodes and ``MAX_DEPTH``
levels of nesting. An exponent that does not depend on x or y (``x**3``, ``y**(1/2)``) must be at
most ``MAX_EXPONENT`` in magnitude; an exponent that does (``x**y``, ``2**x``) is allowed: torch
evaluates it in floating point in constant time, and an overflow only gives ``inf`` (a run that
reaches it is reported as diverged).

Evaluation time is bounded because the compiled function is a fixed tree of at most
``MAX_NODES`` element-wise torch operations with no loops, no recursion beyond ``MAX_DEPTH`` and
no data-dependent control flow: evaluating it on N points costs O(MAX_NODES * N) floating-point
operations, whatever the numbers are (floats overflow to inf, they never grow like Python ints).
Parsing is bounded by the length limit.

>>> f = custom_landscape("x**2 + 3*y^2")
>>> float(f([1.0, 1.0]))
4.0
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .base import Bounds, Landscape

MAX_LENGTH = 300
MAX_NODES = 200
MAX_DEPTH = 24
MAX_EXPONENT = 16.0
MAX_COORD = 1e6  # domain bounds must lie in [-MAX_COORD, MAX_COORD]
DEFAULT_FORMULA = "x**4 - 2*x**2 + y**2 + 0.3*x"
DEFAULT_DOMAIN: Bounds = ((-3.0, 3.0), (-3.0, 3.0))

Node = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

UNARY: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sin": torch.sin,
    "cos": torch.cos,
    "tan": torch.tan,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "tanh": torch.tanh,
    "abs": torch.abs,
    "sinh": torch.sinh,
    "cosh": torch.cosh,
    "arctan": torch.atan,
    "atan": torch.atan,
}
BINARY: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "min": torch.minimum,
    "max": torch.maximum,
}
CONSTANTS = {"pi": math.pi, "e": math.e}
VARIABLES = ("x", "y")
OPERATORS: dict[type, tuple[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]] = {
    ast.Add: ("+", torch.add),
    ast.Sub: ("-", torch.sub),
    ast.Mult: ("*", torch.mul),
    ast.Div: ("/", torch.div),
    ast.Pow: ("**", torch.pow),
}
# names of syntax the user may try, for the error message
FORBIDDEN = {
    ast.Attribute: "attribute access ('.')",
    ast.Subscript: "subscripts ('[...]')",
    ast.Lambda: "lambdas",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Compare: "comparisons",
    ast.BoolOp: "'and' / 'or'",
    ast.IfExp: "'if ... else'",
    ast.JoinedStr: "f-strings",
    ast.Starred: "starred arguments",
    ast.NamedExpr: "assignments (':=')",
    ast.List: "lists",
    ast.Tuple: "tuples (a stray ',')",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.Await: "'await'",
    ast.Yield: "'yield'",
    ast.YieldFrom: "'yield'",
    ast.Slice: "slices",
}
ALLOWED_TEXT = (
    "numbers, x, y, pi, e, + - * / ** (or ^), parentheses and the functions "
    + ", ".join([*UNARY, *BINARY])
)


class FormulaError(ValueError):
    """A formula that is not allowed or does not parse; the message says what and where."""


@dataclass(frozen=True)
class Formula:
    """A checked formula: the text, its torch function of (x, y), its LaTeX, whether it uses x/y."""

    text: str
    fn: Node
    latex: str
    uses_xy: bool

    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        """f at ``points`` shaped ``(..., 2)`` -> ``(...)``; differentiable (autograd)."""
        x, y = points[..., 0], points[..., 1]
        out = self.fn(x, y)
        if not self.uses_xy:  # a constant: keep it connected to the input for autograd
            out = out + 0.0 * x
        return torch.broadcast_to(out, x.shape)


def parse(text: str) -> Formula:
    """Check ``text`` against the grammar and bounds and compile it into torch operations.

    Raises FormulaError with a message naming what is not allowed and the column where it is.
    """
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be text, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise FormulaError("the formula is empty: type f(x, y), e.g. x**2 + y**2")
    if len(stripped) > MAX_LENGTH:
        raise FormulaError(
            f"the formula is {len(stripped)} characters long; at most {MAX_LENGTH} are allowed"
        )
    if not stripped.isprintable() or not stripped.isascii():
        bad = next(c for c in stripped if not (c.isascii() and c.isprintable()))
        raise FormulaError(
            f"character {bad!r} at column {stripped.index(bad) + 1} is not allowed "
            "(use plain ASCII: letters, digits, + - * / ^ ( ) , .)"
        )
    if "#" in stripped:  # Python's parser would drop the rest as a comment, unchecked
        raise FormulaError(
            f"'#' at column {stripped.index('#') + 1} is not allowed: a formula has no comments"
        )
    source = stripped.replace("^", "**")
    carets = [i for i, c in enumerate(stripped) if c == "^"]

    def column(offset: int | None) -> int:
        """1-based column in the user's text of 0-based ``offset`` in ``source``."""
        if offset is None:
            return 0
        shift = 0
        for i in carets:  # each '^' became two characters
            if i + shift < offset:
                shift += 1
        return offset - shift + 1

    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        where = f" at column {column((exc.offset or 1) - 1)}" if exc.offset else ""
        raise FormulaError(f"not a formula: {exc.msg}{where}") from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise FormulaError(f"not a formula: {exc}") from None
    compiler = _Compiler(column)
    fn, uses = compiler.compile(tree.body, 1)
    return Formula(stripped, fn, compiler.latex(tree.body), uses)


class _Compiler:
    """Walks a syntax tree once: checks each node and returns (closure, depends on x or y)."""

    def __init__(self, column: Callable[[int | None], int]):
        self.column = column
        self.nodes = 0

    def fail(self, node: ast.AST, what: str) -> FormulaError:
        col = self.column(getattr(node, "col_offset", None))
        where = f" at column {col}" if col else ""
        return FormulaError(f"not allowed{where}: {what}. Allowed: {ALLOWED_TEXT}")

    def compile(self, node: ast.AST, depth: int) -> tuple[Node, bool]:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise FormulaError(f"the formula has more than {MAX_NODES} parts; simplify it")
        if depth > MAX_DEPTH:
            raise FormulaError(f"the formula is nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner, uses = self.compile(node.operand, depth + 1)
            if isinstance(node.op, ast.UAdd):
                return inner, uses
            return (lambda x, y: torch.neg(inner(x, y))), uses
        if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
            left, lu = self.compile(node.left, depth + 1)
            right, ru = self.compile(node.right, depth + 1)
            if isinstance(node.op, ast.Pow) and not ru:
                self.check_exponent(node.right, right)
            op = OPERATORS[type(node.op)][1]
            return (lambda x, y: op(left(x, y), right(x, y))), lu or ru
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        if isinstance(node, ast.UnaryOp):
            raise self.fail(node, f"the operator {_op_text(node.op)!r}")
        if isinstance(node, ast.BinOp):
            raise self.fail(node, f"the operator {_op_text(node.op)!r}")
        what = FORBIDDEN.get(type(node), f"{type(node).__name__} syntax")
        raise self.fail(node, what)

    def constant(self, node: ast.Constant) -> tuple[Node, bool]:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(node, f"the literal {_short(repr(value))}")
        try:
            number = float(value)
        except OverflowError:
            raise self.fail(node, "a number this large") from None
        if not math.isfinite(number):
            raise self.fail(node, "a number this large")
        return (lambda x, y: x.new_tensor(number)), False

    def name(self, node: ast.Name) -> tuple[Node, bool]:
        if node.id == "x":
            return (lambda x, y: x), True
        if node.id == "y":
            return (lambda x, y: y), True
        if node.id in CONSTANTS:
            value = CONSTANTS[node.id]
            return (lambda x, y: x.new_tensor(value)), False
        if node.id in UNARY or node.id in BINARY:
            raise self.fail(node, f"{node.id!r} without parentheses (write {node.id}(...))")
        raise self.fail(node, f"the name {_short(node.id)!r}")

    def call(self, node: ast.Call, depth: int) -> tuple[Node, bool]:
        if not isinstance(node.func, ast.Name):
            raise self.fail(node.func, FORBIDDEN.get(type(node.func), "calling an expression"))
        name = node.func.id
        if name not in UNARY and name not in BINARY:
            raise self.fail(node, f"the function {_short(name)!r}")
        if node.keywords:
            raise self.fail(node, f"keyword arguments in {name}(...)")
        arity = 1 if name in UNARY else 2
        if len(node.args) != arity:
            raise self.fail(node, f"{name}(...) with {len(node.args)} arguments (it takes {arity})")
        args = [self.compile(a, depth + 1) for a in node.args]
        uses = any(u for _, u in args)
        if arity == 1:
            fn1, (arg, _) = UNARY[name], args[0]
            return (lambda x, y: fn1(arg(x, y))), uses
        fn2, (a, _), (b, _) = BINARY[name], args[0], args[1]
        return (lambda x, y: fn2(a(x, y), b(x, y))), uses

    def check_exponent(self, node: ast.AST, fn: Node) -> None:
        zero = torch.zeros((), dtype=torch.float64)
        with torch.no_grad():
            value = float(fn(zero, zero))
        if not (math.isfinite(value) and abs(value) <= MAX_EXPONENT):
            raise FormulaError(
                f"the exponent at column {self.column(node.col_offset)} is {value:g}; a constant "
                f"exponent must be between -{MAX_EXPONENT:g} and {MAX_EXPONENT:g}"
            )

    # -- LaTeX --------------------------------------------------------------------------------
    def latex(self, node: ast.AST) -> str:
        return _latex(node)[0]


# precedence: 1 sum, 2 product, 3 unary minus, 4 power, 5 atom
def _latex(node: ast.AST) -> tuple[str, int]:
    if isinstance(node, ast.Constant):
        return _num_latex(float(node.value)), 5
    if isinstance(node, ast.Name):
        return {"pi": r"\pi", "e": "e"}.get(node.id, node.id), 5
    if isinstance(node, ast.UnaryOp):
        inner, p = _latex(node.operand)
        inner = inner if p >= 3 else rf"\left({inner}\right)"
        return ("-" if isinstance(node.op, ast.USub) else "+") + inner, 3
    if isinstance(node, ast.BinOp):
        left, lp = _latex(node.left)
        right, rp = _latex(node.right)
        if isinstance(node.op, ast.Div):
            return rf"\frac{{{left}}}{{{right}}}", 5
        if isinstance(node.op, ast.Pow):
            base = left if lp >= 5 else rf"\left({left}\right)"
            return f"{{{base}}}^{{{right}}}", 4
        if isinstance(node.op, ast.Mult):
            left = left if lp >= 2 else rf"\left({left}\right)"
            right = right if rp >= 3 else rf"\left({right}\right)"
            return rf"{left} \cdot {right}", 2
        if isinstance(node.op, ast.Sub):
            right = right if rp >= 2 else rf"\left({right}\right)"
            return f"{left} - {right}", 1
        return f"{left} + {right}", 1
    if isinstance(node, ast.Call):
        name = node.func.id  # type: ignore[attr-defined]
        args = [_latex(a)[0] for a in node.args]
        if name == "sqrt":
            return rf"\sqrt{{{args[0]}}}", 5
        if name == "abs":
            return rf"\left|{args[0]}\right|", 5
        if name in ("min", "max"):
            return rf"\{name}\left({args[0]}, {args[1]}\right)", 5
        cmd = {"atan": r"\arctan", "arctan": r"\arctan"}.get(name, "\\" + name)
        return rf"{cmd}\left({args[0]}\right)", 5
    return "?", 5  # unreachable for a checked tree


def _num_latex(value: float) -> str:
    text = f"{value:.12g}"
    if "e" in text:
        mantissa, exp = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exp)}}}"
    return text


def _op_text(op: ast.AST) -> str:
    return {
        ast.FloorDiv: "//",
        ast.Mod: "%",
        ast.MatMult: "@",
        ast.BitAnd: "&",
        ast.BitOr: "|",
        ast.BitXor: "^",
        ast.LShift: "<<",
        ast.RShift: ">>",
        ast.Invert: "~",
        ast.Not: "not",
    }.get(type(op), type(op).__name__)


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_domain(domain: Bounds) -> Bounds:
    """Validated ``((x0, x1), (y0, y1))`` as floats; raises FormulaError when it is not a box."""
    try:
        (x0, x1), (y0, y1) = ((float(a), float(b)) for a, b in domain)
    except (TypeError, ValueError):
        raise FormulaError(f"the domain must be ((x0, x1), (y0, y1)), got {domain!r}") from None
    values = (x0, x1, y0, y1)
    if not all(math.isfinite(v) and abs(v) <= MAX_COORD for v in values):
        raise FormulaError(f"the domain's bounds must be finite numbers within ±{MAX_COORD:g}")
    if not (x0 < x1 and y0 < y1):
        raise FormulaError(
            f"the domain needs x0 < x1 and y0 < y1, got x in [{x0:g}, {x1:g}], y in [{y0:g}, {y1:g}]"
        )
    return ((x0, x1), (y0, y1))


def default_start(domain: Bounds) -> tuple[float, float]:
    """A start away from the centre (where simple bowls have their minimum): 20 % in from the
    top-left corner."""
    (x0, x1), (y0, y1) = domain
    return (x0 + 0.2 * (x1 - x0), y1 - 0.2 * (y1 - y0))


def custom_landscape(
    text: str,
    *,
    domain: Bounds = DEFAULT_DOMAIN,
    start: tuple[float, float] | None = None,
) -> Landscape:
    """A ``Landscape`` for the formula ``text`` (see the module docstring for the grammar).

    Batched and differentiable like the built-in surfaces; its minima are unknown
    (``all_minima_known`` False), so runs are classified from their numbers alone. Its identity
    (``params``) holds the formula and the domain, so different formulas never share a cache
    entry. Raises FormulaError for a formula, domain or start that is not allowed.
    """
    formula = parse(text)
    box = check_domain(domain)
    if start is None:
        start = default_start(box)
    else:
        sx, sy = (float(v) for v in start)
        (x0, x1), (y0, y1) = box
        if not (x0 <= sx <= x1 and y0 <= sy <= y1):
            raise FormulaError(f"the start ({sx:g}, {sy:g}) is outside the domain")
        start = (sx, sy)
    (x0, x1), (y0, y1) = box
    return Landscape(
        key="custom",
        name="Your formula",
        group="custom",  # type: ignore[arg-type]
        fn=formula,
        domain=box,
        start=start,
        minima=(),
        params=(("fx", formula.text), ("x0", x0), ("x1", x1), ("y0", y0), ("y1", y1)),  # type: ignore[arg-type]
        formula=formula.latex,
        notice=(
            "Your own surface f(x, y). Its minima are not known, so a run is judged by its "
            "numbers alone (diverged, oscillating, stalled, trapped or moving)."
        ),
        references=(),
        log_scale=False,
        all_minima_known=False,
    )
