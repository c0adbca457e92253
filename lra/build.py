"""From a Config and a TaskSpec to a model, and the model's name in the paper's tables."""

from __future__ import annotations

import jax.numpy as jnp

from lra.configs.common import Config, ConfigError
from models.s4d import SSMConfig
from models.sequence import NORMS, POOLS, Backbone, SequenceClassifier
from tasks.base import TaskSpec

NAMES = {"legs": "S4D-LegS", "inv": "S4D-Inv", "lin": "S4D-Lin", "real": "S4D-Real",
         "rand": "S4D-Rand"}
DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def max_length(cfg: Config, spec: TaskSpec) -> int:
    """Sequence length limit of a run: the config's override, else the task's own."""
    return cfg.max_length or spec.max_length


# The SSM choices that the S4D paper ablates, each with the value its named models use. A run that
# departs from one says so in its model name, so an ablation never shares a row with S4D-Inv.
ABLATION_KEYS = ("a_init", "b_init", "disc", "real_transform", "dt_transform", "b_trainable")


def model_name(cfg: Config) -> str:
    """The row label of a table: S4D-LegS, S4D-Inv, ..., or 'S4D-Inv (bilinear, Re relu)'."""
    m = cfg.model
    auto_b = "hippo" if m.a_init == "legs" else "ones"
    if m.a_init == "legs" and m.b_init == "ones" and m.disc == "dss":
        base, extra = "DSS", []
    else:
        base = NAMES.get(m.a_init, f"S4D-{m.a_init}")
        extra = [m.disc] if m.disc != "zoh" else []
        if m.b_init not in ("auto", auto_b):
            extra.append(f"B {m.b_init}")
    if m.real_transform != "exp":
        extra.append(f"Re {m.real_transform}")
    if m.dt_transform != "exp":
        extra.append(f"Δ {m.dt_transform}")
    if not m.b_trainable:
        extra.append("B frozen")
    return base + (f" ({', '.join(extra)})" if extra else "")


def ssm_config(cfg: Config, spec: TaskSpec) -> SSMConfig:
    m = cfg.model
    b_init = m.b_init if m.b_init != "auto" else ("hippo" if m.a_init == "legs" else "ones")
    try:
        return SSMConfig(
            d_state=m.d_state, a_init=m.a_init, b_init=b_init, disc=m.disc,
            real_transform=m.real_transform, dt_transform=m.dt_transform,
            b_trainable=m.b_trainable, n_ssm=m.n_ssm, dt_min=m.dt_min, dt_max=m.dt_max,
            bidirectional=m.bidirectional, mode=m.mode,
            l_max=max_length(cfg, spec), conv=m.conv, conv_chunk=m.conv_chunk,
        )
    except ValueError as e:
        raise ConfigError(f"model: {e}") from None


def create_model(cfg: Config, spec: TaskSpec) -> SequenceClassifier:
    m = cfg.model
    for key, value, allowed in [("norm", m.norm, NORMS), ("pool", m.pool, POOLS),
                                ("dtype", m.dtype, tuple(DTYPES))]:
        if value not in allowed:
            raise ConfigError(f"model.{key}={value!r}: choose one of {allowed}")
    if m.n_ssm is not None and m.d_model % m.n_ssm:
        raise ConfigError(f"model.n_ssm={m.n_ssm} must divide model.d_model={m.d_model}")
    backbone = Backbone(
        vocab_size=spec.vocab_size,
        d_model=m.d_model,
        n_layers=m.n_layers,
        ssm=ssm_config(cfg, spec),
        dropout=m.dropout,
        norm=m.norm,
        prenorm=m.prenorm,
        pool=m.pool,
        dtype=DTYPES[m.dtype],
        remat=m.remat,
    )
    return SequenceClassifier(num_classes=spec.num_classes, backbone=backbone, paired=spec.paired)
