"""The model's choices, in one place: each option's values, their order and their names.

Every choice is a `Literal` type. Its values come in the order the S4D paper discusses them:
initialisations LegS, Inv, Lin, then the Real and random variants it ablates; discretisations
ZOH, bilinear, DSS's; real-part transforms exp, ReLU, none (lra-reference §1.2, §1.4).
The layer (models/s4d.py), the blocks (models/sequence.py), the run configuration
(lra/configs/common.py), the model names of the tables (lra/build.py) and the ablation tables
(lra/report/) all read them from here; a test checks that the README's table of model options
lists the same values.

`SSMOptions` holds the SSM options a user sets. The layer's `SSMConfig` and the run's
`ModelConfig` both extend it, so the fields are declared once and copied by name.

This module imports neither jax nor flax, so the command line can read the choices cheaply.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Literal

AInit = Literal["legs", "inv", "lin", "real", "rand", "inv2", "quad", "random"]
BInit = Literal["auto", "ones", "hippo", "random"]  # auto: HiPPO's B for LegS, else ones (paper's)
Disc = Literal["zoh", "bilinear", "dss"]
RealTransform = Literal["exp", "relu", "none"]
DtTransform = Literal["exp", "softplus"]
Mode = Literal["conv", "recurrent"]
Conv = Literal["fft", "chunked"]  # the layer's paths
ConvChoice = Literal["auto", "fft", "chunked"]  # a run's: auto times both (lra/choose.py)
Norm = Literal["batch", "layer"]
Padding = Literal["masked", "s4"]  # what the layers see of padding (models/sequence.py Backbone)
Postact = Literal["glu", "linear"]  # after the SSM: Linear(H, 2H) + GLU, or Linear(H, H)
Pool = Literal["mean", "last"]
Dtype = Literal["float32", "bfloat16"]


def values(choice: typing.Any) -> tuple:
    """The allowed values of a Literal choice, in order: values(Disc) == ('zoh', ...)."""
    return typing.get_args(choice)


def resolve_b_init(b_init: str, a_init: str) -> str:
    """B's init with 'auto' resolved: HiPPO's B (in LegS's eigenbasis) for LegS, else ones."""
    if b_init != "auto":
        return b_init
    return "hippo" if a_init == "legs" else "ones"


@dataclasses.dataclass(frozen=True)
class SSMOptions:
    """The options of an S4D layer's state space model (each documented where declared)."""

    d_state: int = 64  # N: state size; the layer keeps N/2 complex modes
    a_init: AInit = "inv"  # A: S4D-LegS/Inv/Lin; real (-(n+1)); rand; inv2, quad, random (S4 v3)
    b_init: BInit = "auto"  # B: ones, hippo (LegS's B), random (normal); auto: hippo iff legs
    a_real_random: bool = False  # Re(A) = -U[0,1) instead of -1/2 (S4 v3.0.0 random_real)
    a_imag_random: bool = False  # n in Im(A)'s law drawn as (N/2)·U[0,1) (S4 v3.0.0 random_imag)
    a_real_scale: float = 1.0  # Re(A) multiplied by this at init (S4 v3.0.0 real_scale)
    a_imag_scale: float = 1.0  # Im(A) multiplied by this at init (S4 v3.0.0 imag_scale)
    # Bilinear is S4 v3.0.0's SSKernelDiag default, which the S4D paper's runs used (fidelity §3).
    disc: Disc = "bilinear"  # discretisation: 'zoh', 'bilinear', or 'dss' (DSS's normalised form)
    real_transform: RealTransform = "exp"  # Re(A) from its parameter: exp, relu, none (clamped)
    dt_transform: DtTransform = "exp"  # the step Δ from its parameter: 'exp' or 'softplus'
    b_trainable: bool = True  # False freezes B at its initial value
    n_ssm: int | None = None  # independent (A, B) copies shared across channels (None: one each)
    dt_min: float = 1e-3  # the step Δ is drawn log-uniform in [dt_min, dt_max], per channel
    dt_max: float = 1e-1  # upper end of the initial Δ range
    bidirectional: bool = True  # a second, anti-causal kernel per channel
    mode: Mode = "conv"  # SSM as 'conv' (a convolution) or 'recurrent' (step by step, same map)
    conv: Conv = "fft"  # how 'conv' convolves: 'fft' or 'chunked' (matrix products; same map)
    conv_chunk: int = 64  # chunk length of conv='chunked'


def ssm_options(obj: typing.Any) -> dict[str, typing.Any]:
    """The SSMOptions fields of any object that has them (a ModelConfig, an SSMConfig)."""
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(SSMOptions)}


@dataclasses.dataclass(frozen=True)
class Axis:
    """One SSM choice the S4D paper ablates: its key, column title and how a run departing from
    a named model says so in its name (label.format(value), or labels[value])."""

    key: str
    title: str
    choice: typing.Any  # the Literal type, or bool
    label: str = "{}"
    labels: dict = dataclasses.field(default_factory=dict)

    @property
    def values(self) -> tuple:
        """The choice's values in order ((True, False) for a bool; () for a number)."""
        return (True, False) if self.choice is bool else values(self.choice)

    def name(self, value: typing.Any) -> str:
        return self.labels.get(value, self.label.format(value))

    def rank(self, value: typing.Any) -> tuple[int, str]:
        """Sort key: the paper's order; values it does not list go last."""
        order = [str(v) for v in self.values]
        return (order.index(str(value)) if str(value) in order else len(order), str(value))


# The ablated choices, in the order a model name lists its departures.
AXES = (
    Axis("a_init", "init", AInit),
    Axis("disc", "disc", Disc),
    Axis("b_init", "B init", BInit, label="B {}"),
    Axis("real_transform", "Re(A)", RealTransform, label="Re {}"),
    Axis("dt_transform", "Δ", DtTransform, label="Δ {}"),
    Axis("b_trainable", "B trainable", bool, labels={False: "B frozen"}),
    Axis("a_real_random", "Re(A) random", bool, labels={True: "Re random", False: "Re -1/2"}),
    Axis("a_imag_random", "Im(A) random", bool, labels={True: "Im random", False: "Im law"}),
    Axis("a_real_scale", "Re(A) scale", float, label="Re×{}"),
    Axis("a_imag_scale", "Im(A) scale", float, label="Im×{}"),
)
AXIS = {a.key: a for a in AXES}

# The S4D paper's names of its initialisations (lra-reference §1.1, §1.4): its named models.
A_INIT_NAMES = {"legs": "S4D-LegS", "inv": "S4D-Inv", "lin": "S4D-Lin", "real": "S4D-Real",
                "rand": "S4D-Rand"}
# Further laws of S4 v3.0.0 (`measure=diag-inv2`, `diag-quad`, `diag-random`): ablation choices,
# no presets.
A_INIT_TITLES = {**A_INIT_NAMES, "inv2": "S4D-Inv2", "quad": "S4D-Quad",
                 "random": "S4D-Random (v3.0.0)"}
