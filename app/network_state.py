"""The state of the "Network landscape" page: one frozen value, encoded in and decoded from the URL.

Query schema ``v=1`` (every field optional; a missing one takes its default)::

    v=1
    data=moons  noise=0.2  n=600        data set (moons, spirals, circles, xor, digits, or upload:
                                        this session's CSV, which the link cannot carry), its noise
                                        and size
    model=mlp  w=64-32  bn=0  drop=0    model: MLP widths (1 to 4 hidden layers) or CNN (digits)
    seed=0                              initialization, data split and mini-batch order
    o=sgd,lr=0.1  o=adam,lr=0.01        one optimizer per "o" (repeat it, at most 4), name,lr=value
    steps=200  bs=64  rec=2  wd=0       training: steps, batch size (0: full batch), record every
                                        k steps, weight decay
    plane=pca                           pca, random or hessian
    dseed=0  bias=1  orth=0             random directions: seed, ignore biases and BN, orthogonalize
    c=0                                 the optimizer whose final point is the plane's centre
    span=auto  res=41  metric=train     plane half-width (auto: fit the paths), grid, what is drawn
    view3d=0  popt=0                    3-D surface, "optimize in the plane"

Decoding never raises: a value that does not parse, or is out of range, adds a warning naming it
and falls back to its default; the rest of the link still applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import optimizers

from .links.fields import Choice, Field, Flag, Integer, Number, OrAuto, Widths, decode, encode
from .literal import quoted
from .query import SCHEMA_VERSION, QueryReader, finite_float, number_text

UPLOAD = "upload"  # data=upload: the CSV uploaded in this session (never in the link)

DATASETS = ("moons", "spirals", "circles", "xor", "digits", UPLOAD)
TWO_D = (
    "moons",
    "spirals",
    "circles",
    "xor",
)  # the data sets with decision regions (and 2-D uploads)
MODELS = ("mlp", "cnn")
PLANES = ("pca", "random", "hessian")
METRICS = ("train", "val", "acc")
RESOLUTIONS = (21, 31, 41, 51)
MAX_OPTIMIZERS = 4
MAX_LAYERS = 4
WIDTH_RANGE = (2, 256)
SAMPLES_RANGE = (100, 2000)
NOISE_RANGE = (0.0, 1.0)
DROPOUT_RANGE = (0.0, 0.8)
STEPS_RANGE = (10, 2000)
BATCH_RANGE = (0, 2000)  # 0: the full training set every step
RECORD_RANGE = (1, 100)
WEIGHT_DECAY_RANGE = (0.0, 0.1)
SPAN_RANGE = (0.01, 100.0)
LR_RANGE = (1e-6, 1e6)  # wide on purpose: a link may show a learning rate that diverges
SEED_RANGE = (0, 2**31 - 1)


def first_order() -> list[str]:
    """The optimizers the network trainer accepts: the registered ones that need only gradients."""
    return [n for n in optimizers.available() if not optimizers.get(n).needs]


@dataclass(frozen=True)
class NetOptimizer:
    """One optimizer of the race: its registry name and learning rate (the rest at defaults)."""

    name: str
    lr: float

    @classmethod
    def make(cls, name: str, lr: float) -> NetOptimizer:
        """Validated entry; raises ValueError for an optimizer outside ``first_order()`` or a
        learning rate outside ``LR_RANGE``."""
        if name not in first_order():
            raise ValueError(
                f"optimizer {quoted(name)} is not one of the first-order optimizers "
                f"({', '.join(first_order())})"
            )
        value = finite_float(str(lr))
        if value is None or not LR_RANGE[0] <= value <= LR_RANGE[1]:
            raise ValueError(
                f"{name}: learning rate {quoted(lr)} must be a number in [{LR_RANGE[0]:g}, {LR_RANGE[1]:g}]"
            )
        return cls(name, value)

    def spec(self) -> tuple[str, dict[str, float]]:
        """The ``(name, hyperparameters)`` pair the engine's ``train`` and ``simulate`` take.

        No synthetic gradient noise (the explorer's SGD adds some by default): on a network the
        stochasticity is the mini-batch sequence, the same for every optimizer."""
        return self.name, {"lr": self.lr, "noise": 0.0}

    @property
    def label(self) -> str:
        """Display name, e.g. "Adam lr=0.01". The learning rate is the only setting, and an
        optimizer appears at most once on the page (a link that repeats one uses its first
        entry), so the labels of a network view never repeat."""
        return f"{optimizers.get(self.name).title} lr={self.lr:g}"


# Four optimizers from one initialization on moons: SGD's noisy path, momentum overshooting,
# two adaptive methods that take a different route through the same plane.
DEFAULT_OPTIMIZERS: tuple[NetOptimizer, ...] = (
    NetOptimizer("sgd", 0.1),
    NetOptimizer("momentum", 0.05),
    NetOptimizer("adam", 0.01),
    NetOptimizer("rmsprop", 0.01),
)


@dataclass(frozen=True)
class NetworkState:
    """Everything that defines the page's view; ``to_query`` / ``from_query`` round-trip it."""

    dataset: str = "moons"
    noise: float = 0.2
    samples: int = 600
    model: str = "mlp"
    widths: tuple[int, ...] = (64, 32)
    batch_norm: bool = False
    dropout: float = 0.0
    seed: int = 0
    optimizers: tuple[NetOptimizer, ...] = DEFAULT_OPTIMIZERS
    steps: int = 200
    batch_size: int = 64  # 0: full batch
    record_every: int = 2  # 101 points per path: smooth, and a PCA of half the size
    weight_decay: float = 0.0
    plane: str = "pca"
    dir_seed: int = 0
    ignore_bias: bool = True
    orthogonalize: bool = False
    centre: int = 0  # index into optimizers: its final point is the plane's centre
    span: float | None = None  # None: fit the projected paths
    resolution: int = 41
    metric: str = "train"
    show_3d: bool = False
    plane_opt: bool = False
    # data=upload: the digest of this session's uploaded CSV and label column (never in the link)
    upload: str = ""

    # -- derived --------------------------------------------------------------------------------
    def centre_run(self) -> int:
        """The centre's run index, within range of the optimizers."""
        return min(self.centre, max(len(self.optimizers) - 1, 0))

    # -- encoding -------------------------------------------------------------------------------
    def to_query(self) -> dict[str, str | list[str]]:
        """Query parameters for this state; defaults are left out to keep links short."""
        q: dict[str, str | list[str]] = {"v": SCHEMA_VERSION}
        default = NetworkState()
        q.update(encode(self, FIELDS, default))
        if self.optimizers != default.optimizers:
            q["o"] = [f"{e.name},lr={number_text(e.lr)}" for e in self.optimizers] or ["none"]
        return q

    @classmethod
    def from_query(cls, query: Mapping[str, str | Sequence[str]]) -> tuple[NetworkState, list[str]]:
        """Decode a query; returns the state and one warning per value that could not be used."""
        warn: list[str] = []
        get = QueryReader(query, warn)
        get.check_version()
        default = cls()
        updates = decode(get, FIELDS, default, warn, fallback="using the default {default}")
        entries = get.all("o")
        if entries:
            if entries == ["none"]:
                updates["optimizers"] = ()
            else:
                decoded = [e for raw in entries[:MAX_OPTIMIZERS] if (e := _decode_entry(raw, warn))]
                if len(entries) > MAX_OPTIMIZERS:
                    warn.append(f"only the first {MAX_OPTIMIZERS} optimizers of the link are used")
                unique = {e.name: e for e in reversed(decoded)}  # the first of each name wins
                if len(unique) < len(decoded):
                    warn.append("an optimizer is given twice; using its first entry")
                decoded = [e for e in decoded if unique[e.name] is e]
                if decoded:
                    updates["optimizers"] = tuple(decoded)
                else:
                    warn.append("no optimizer of the link could be used; using the default four")
        state = replace(default, **updates)
        if state.model == "cnn" and state.dataset != "digits":
            warn.append(f"model=cnn needs images (data=digits), not {state.dataset}; using the MLP")
            state = replace(state, model="mlp")
        if state.optimizers and state.centre >= len(state.optimizers):
            warn.append(
                f"c={state.centre} is not one of the {len(state.optimizers)} optimizers; "
                "centring on the first"
            )
            state = replace(state, centre=0)
        return state, warn


# every value but the optimizers, in the order a link writes them; ``widget``: the session-state
# key of the network page's widget bound to it
FIELDS: tuple[Field, ...] = (
    Field("data", "dataset", Choice(DATASETS), widget="net_data"),
    Field("noise", "noise", Number(*NOISE_RANGE), widget="net_noise"),
    Field("n", "samples", Integer(*SAMPLES_RANGE), widget="net_samples"),
    Field("model", "model", Choice(MODELS), widget="net_model"),
    Field("bn", "batch_norm", Flag(), widget="net_bn"),
    Field("drop", "dropout", Number(*DROPOUT_RANGE), widget="net_dropout"),
    Field("seed", "seed", Integer(*SEED_RANGE), widget="net_seed"),
    Field("steps", "steps", Integer(*STEPS_RANGE), widget="net_steps"),
    Field("bs", "batch_size", Integer(*BATCH_RANGE), widget="net_bs"),
    Field("rec", "record_every", Integer(*RECORD_RANGE), widget="net_rec"),
    Field("wd", "weight_decay", Number(*WEIGHT_DECAY_RANGE), widget="net_wd"),
    Field("plane", "plane", Choice(PLANES), widget="net_plane"),
    Field("dseed", "dir_seed", Integer(*SEED_RANGE), widget="net_dseed"),
    Field("bias", "ignore_bias", Flag(), widget="net_ignore"),
    Field("orth", "orthogonalize", Flag(), widget="net_orth"),
    Field("c", "centre", Integer(0, MAX_OPTIMIZERS - 1), widget="net_centre"),
    Field("res", "resolution", Choice(RESOLUTIONS), widget="net_res"),
    Field("metric", "metric", Choice(METRICS), widget="net_metric"),
    Field("view3d", "show_3d", Flag(), widget="net_3d"),
    Field("popt", "plane_opt", Flag(), widget="net_popt"),
    Field("w", "widths", Widths(MAX_LAYERS, *WIDTH_RANGE)),
    Field("span", "span", OrAuto(Number(*SPAN_RANGE)), fallback="fitting the paths"),
)


def _decode_entry(raw: str, warn: list[str]) -> NetOptimizer | None:
    name, *pairs = raw.split(",")
    name = name.strip()
    if name not in first_order():
        known = name in optimizers.available()
        why = "needs more than gradients" if known else "is unknown"
        warn.append(f"optimizer {quoted(name)} {why}; it is left out")
        return None
    lr = float(optimizers.get(name).defaults["lr"])
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if key.strip() != "lr" or not sep:
            warn.append(
                f"{name}: {quoted(pair)} is not lr=value (only the learning rate is set here); ignored"
            )
            continue
        value = finite_float(text)
        if value is None or not LR_RANGE[0] <= value <= LR_RANGE[1]:
            warn.append(
                f"{name}: lr={quoted(text)} must be a number in [{LR_RANGE[0]:g}, {LR_RANGE[1]:g}]; "
                f"using {lr:g}"
            )
        else:
            lr = value
    return NetOptimizer(name, lr)
