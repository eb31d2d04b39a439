"""The state of the "Deep learning" page: one frozen value, encoded in and decoded from the URL.

Query schema ``v=1`` (every field optional; a missing one takes its default)::

    v=1
    view=gradients                      gradients | eos | batch: the view shown
    depth=10  act=sigmoid  init=default vanishing and exploding gradients: linear layers (2-12),
    scale=1  bn=0  res=0  clip=0        activation, initialization and its scale, batch norm,
    glr=0.1  gsteps=200                 residual connections, gradient clipping (0: off), SGD's
                                        learning rate and steps
    lr=0.3  esteps=600                  edge of stability: gradient descent's step eta and steps
    bs=8-32-128  blr=0.1  lsr=0         batch size: the batch sizes compared, SGD's learning rate
    epochs=5                            (at batch 32 when lsr=1, the linear scaling rule), epochs

Decoding never raises: a value that does not parse, or is out of range, adds a warning naming it
and falls back to its default; the rest of the link still applies. The data (two moons, 600
samples, noise 0.2, seed 0) and the widths are fixed by the page: the link carries only what a
student changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from .links.fields import Choice, Field, Flag, Integer, Number, Widths, decode, encode
from .query import SCHEMA_VERSION, QueryReader

VIEWS = ("gradients", "eos", "batch")
ACTIVATIONS = ("sigmoid", "tanh", "relu")  # landscapes.network.deep.ACTIVATIONS
INITS = ("default", "xavier", "he")  # landscapes.network.deep.INITS
DEPTH_RANGE = (2, 12)  # landscapes.network.deep.MAX_DEPTH
SCALE_RANGE = (0.1, 10.0)
CLIP_RANGE = (0.0, 100.0)  # 0: no clipping
GRAD_LR_RANGE = (1e-4, 10.0)
GRAD_STEPS_RANGE = (10, 1000)
EOS_LR_RANGE = (0.01, 2.0)
EOS_STEPS_RANGE = (20, 1500)
BATCH_RANGE = (4, 512)  # each batch size; larger than the training set means the full batch
MAX_BATCHES = 4
BATCH_LR_RANGE = (1e-4, 10.0)
EPOCHS_RANGE = (1, 20)
BASE_BATCH = 32  # the linear scaling rule's reference batch size: lr is blr at B = 32


@dataclass(frozen=True)
class DeepState:
    """Everything that defines the page's view; ``to_query`` / ``from_query`` round-trip it."""

    view: str = "gradients"
    # vanishing and exploding gradients: a 10-layer sigmoid MLP, PyTorch's default init
    depth: int = 10
    activation: str = "sigmoid"
    init: str = "default"
    init_scale: float = 1.0
    batch_norm: bool = False
    residual: bool = False
    clip: float = 0.0  # gradient-norm clipping threshold; 0: none
    grad_lr: float = 0.1
    grad_steps: int = 200
    # edge of stability: full-batch gradient descent with step eta
    eos_lr: float = 0.3
    eos_steps: int = 600
    # batch size and learning rate
    batch_sizes: tuple[int, ...] = (8, 32, 128)
    batch_lr: float = 0.1
    linear_scaling: bool = False
    epochs: int = 5

    def to_query(self) -> dict[str, str | list[str]]:
        """Query parameters for this state; defaults are left out to keep links short."""
        q: dict[str, str | list[str]] = {"v": SCHEMA_VERSION}
        q.update(encode(self, FIELDS, DeepState()))
        return q

    @classmethod
    def from_query(cls, query: Mapping[str, str | Sequence[str]]) -> tuple[DeepState, list[str]]:
        """Decode a query; returns the state and one warning per value that could not be used."""
        warn: list[str] = []
        get = QueryReader(query, warn)
        get.check_version()
        default = cls()
        updates = decode(get, FIELDS, default, warn, fallback="using the default {default}")
        sizes = updates.get("batch_sizes")
        if sizes is not None and len(set(sizes)) < len(sizes):
            warn.append("a batch size is given twice; using each once")
            updates["batch_sizes"] = tuple(dict.fromkeys(sizes))
        if sizes is not None:
            updates["batch_sizes"] = tuple(sorted(updates["batch_sizes"]))
        return replace(default, **updates), warn


# every value, in the order a link writes them; ``widget``: the session-state key of the page's
# widget bound to it
FIELDS: tuple[Field, ...] = (
    Field("view", "view", Choice(VIEWS), widget="deep_view"),
    Field("depth", "depth", Integer(*DEPTH_RANGE), widget="deep_depth"),
    Field("act", "activation", Choice(ACTIVATIONS), widget="deep_act"),
    Field("init", "init", Choice(INITS), widget="deep_init"),
    Field("scale", "init_scale", Number(*SCALE_RANGE), widget="deep_scale"),
    Field("bn", "batch_norm", Flag(), widget="deep_bn"),
    Field("res", "residual", Flag(), widget="deep_res"),
    Field("clip", "clip", Number(*CLIP_RANGE), widget="deep_clip"),
    Field("glr", "grad_lr", Number(*GRAD_LR_RANGE), widget="deep_glr"),
    Field("gsteps", "grad_steps", Integer(*GRAD_STEPS_RANGE), widget="deep_gsteps"),
    Field("lr", "eos_lr", Number(*EOS_LR_RANGE), widget="deep_lr"),
    Field("esteps", "eos_steps", Integer(*EOS_STEPS_RANGE), widget="deep_esteps"),
    Field(
        "bs",
        "batch_sizes",
        Widths(MAX_BATCHES, *BATCH_RANGE, what="batch sizes", example="8-32-128"),
    ),  # a multiselect of its own (``app.views.deep``)
    Field("blr", "batch_lr", Number(*BATCH_LR_RANGE), widget="deep_blr"),
    Field("lsr", "linear_scaling", Flag(), widget="deep_lsr"),
    Field("epochs", "epochs", Integer(*EPOCHS_RANGE), widget="deep_epochs"),
)

# the values each view's controls set (the view itself is set by the page's own switch)
VIEW_FIELDS: dict[str, tuple[str, ...]] = {
    "gradients": (
        "depth",
        "activation",
        "init",
        "init_scale",
        "batch_norm",
        "residual",
        "clip",
        "grad_lr",
        "grad_steps",
    ),
    "eos": ("eos_lr", "eos_steps"),
    "batch": ("batch_sizes", "batch_lr", "linear_scaling", "epochs"),
}

# the remedies of the gradients view: one click sets these values (the rest of the state stays)
REMEDIES: dict[str, dict[str, object]] = {
    "relu_he": {"activation": "relu", "init": "he", "init_scale": 1.0},
    "batch_norm": {"batch_norm": True},
    "residual": {"residual": True},
    "clipping": {"clip": 1.0},
    "vanishing": {  # back to the problem: the default network, no remedy
        "activation": "sigmoid",
        "init": "default",
        "init_scale": 1.0,
        "batch_norm": False,
        "residual": False,
        "clip": 0.0,
    },
    "exploding": {  # the other problem: He's scale doubled, SGD diverges at once unless clipped
        "activation": "relu",
        "init": "he",
        "init_scale": 2.0,
        "batch_norm": False,
        "residual": False,
        "clip": 0.0,
    },
}


def with_remedy(state: DeepState, remedy: str) -> DeepState:
    """``state`` with one remedy of ``REMEDIES`` applied; raises KeyError for an unknown one."""
    return replace(state, **REMEDIES[remedy])
