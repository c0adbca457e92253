"""The run configuration: typed, frozen dataclasses; every key documented and used.

One file per task (lra/configs/<task>.py) builds its variants ('full' = the paper's run, 'smoke' =
seconds on a CPU, ...) from these defaults. Command-line overrides `--set section.key=value` are
checked against the fields: an unknown key or a value of the wrong type is an error, never
silently ignored.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any


class ConfigError(Exception):
    """A bad config name or override; the message says what is allowed."""


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    d_model: int = 128  # H: channels of every layer
    n_layers: int = 4  # residual S4D blocks
    d_state: int = 64  # N: state size; the layer keeps N/2 complex modes
    a_init: str = "inv"  # A's init: 'legs', 'inv', 'lin' (S4D-LegS/Inv/Lin), 'real', 'rand'
    b_init: str = "auto"  # B's init: 'ones', 'hippo' (LegS's B), 'auto' = hippo iff a_init=legs
    disc: str = "zoh"  # discretisation: 'zoh', 'bilinear', or 'dss' (DSS's normalised form)
    real_transform: str = "exp"  # Re(A) from its parameter: 'exp', 'relu', 'none' (clamped)
    dt_transform: str = "exp"  # Δ from its parameter: 'exp' or 'softplus'
    b_trainable: bool = True  # False freezes B at its initial value
    n_ssm: int | None = None  # independent (A, B) copies shared across channels (None: H)
    dt_min: float = 1e-3  # the step Δ is drawn log-uniform in [dt_min, dt_max], per channel
    dt_max: float = 1e-1  # upper end of the initial Δ range
    bidirectional: bool = True  # a second, anti-causal kernel per channel
    mode: str = "conv"  # SSM as 'conv' (a convolution) or 'recurrent' (step by step, same map)
    conv: str = "fft"  # how 'conv' convolves: 'fft' or 'chunked' (matrix products; same map)
    conv_chunk: int = 64  # chunk length of conv='chunked'
    dtype: str = "float32"  # activations/matmuls: 'float32' or 'bfloat16' (kernel stays fp32)
    remat: bool = False  # recompute each block in the backward pass (less memory, ~1/3 slower)
    norm: str = "batch"  # 'batch' (over real positions) or 'layer'
    prenorm: bool = False  # norm before the layer (plus a final norm) or after the residual
    dropout: float = 0.0  # one mask over the whole sequence, in the layer and on the residual
    pool: str = "mean"  # 'mean' over the true length, or 'last' (the last real position)


@dataclasses.dataclass(frozen=True)
class OptimConfig:
    lr: float = 0.01  # peak AdamW learning rate of every parameter outside the SSM groups
    weight_decay: float = 0.05  # decoupled weight decay, outside the SSM groups
    b1: float = 0.9  # AdamW betas, as PyTorch's default (S4 configs/optimizer/adamw.yaml)
    b2: float = 0.999  # AdamW second-moment decay
    ssm_lr: float = 1e-3  # peak lr of A and B (log_A_real, A_imag, B); no weight decay
    dt_lr: float | None = None  # peak lr of log_dt (None = lr); no weight decay
    ssm_params: str = r"(^|/)(log_A_real|A_imag|B)$"  # regex on parameter paths: the SSM group
    dt_params: str = r"(^|/)log_dt$"  # regex on parameter paths: the step group
    warmup_steps: int = 1000  # linear warmup from 0, then cosine decay to 0
    total_steps: int | None = None  # length of the cosine schedule (None = epochs × steps/epoch)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    batch_size: int = 50  # training batch; the last incomplete batch of an epoch is dropped
    grad_accum: int = 1  # micro-batches per step: same gradient, 1/grad_accum the activations
    shard_params: bool = False  # split parameters and optimiser state over devices (else copies)
    eval_batch_size: int = 100  # evaluation batch; every val/test example counts exactly once
    epochs: int = 40  # passes over the training split; val and test are evaluated after each
    log_every: int = 50  # steps between training-metric rows in metrics.jsonl
    min_bucket: int = 64  # shortest padded length; batches pad to a power of two above it
    checkpoint_every: int = 1000  # steps between checkpoints of the latest state (0: epoch ends)
    chance_epochs: int = 2  # 2 classes: stuck_at_chance if train loss is ln 2 ± 0.01 from here on


@dataclasses.dataclass(frozen=True)
class Config:
    task: str  # registry name in tasks.TASKS
    variant: str  # which variant of the task's config file ('full', 'smoke', ...)
    seed: int = 0  # parameter init, dropout and data order all derive from it
    max_length: int | None = None  # cut sequences to this many tokens (None = the task's own)
    val_fraction: float = 0.0  # Text only: hold out this share of train as val (0 = test is val)
    difficulty: str | None = None  # Pathfinder/Path-X: curv_baseline, ..._9, ..._14 (None: 14)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    optim: OptimConfig = dataclasses.field(default_factory=OptimConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)


def to_dict(cfg: Config) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def flat(cfg: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted leaf keys of a config with their values, e.g. {'task': ..., 'model.d_model': 128}."""
    out = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            out.update(flat(value, f"{prefix}{f.name}."))
        else:
            out[prefix + f.name] = value
    return out


def keys(cfg: Any) -> list[str]:
    """All dotted leaf keys of a config, e.g. ['task', ..., 'model.d_model', ...]."""
    return list(flat(cfg))


def _coerce(text: str, annotation: Any, key: str) -> Any:
    """Parses an override string into the field's declared type."""
    hint = annotation
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        if text.lower() in ("none", "null"):
            if type(None) in args:
                return None
        hint = next(a for a in args if a is not type(None))
    try:
        if hint is bool:
            if text.lower() in ("true", "1", "yes"):
                return True
            if text.lower() in ("false", "0", "no"):
                return False
            raise ValueError
        if hint is int:
            return int(text)
        if hint is float:
            return float(text)
        if hint is str:
            return text
    except ValueError:
        pass
    raise ConfigError(f"--set {key}={text}: expected a value of type {hint.__name__}")


def override(cfg: Config, assignments: list[str]) -> Config:
    """Applies `section.key=value` strings to a config, checking every key and value."""
    hints = {
        Config: typing.get_type_hints(Config),
        ModelConfig: typing.get_type_hints(ModelConfig),
        OptimConfig: typing.get_type_hints(OptimConfig),
        TrainConfig: typing.get_type_hints(TrainConfig),
    }
    for item in assignments:
        key, sep, text = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item!r}: expected key=value, e.g. --set train.epochs=3")
        if key not in keys(cfg):
            raise ConfigError(
                f"--set {key}: unknown config key. Known keys: {', '.join(keys(cfg))}"
            )
        *path, leaf = key.split(".")
        parents = [cfg]
        for name in path:
            parents.append(getattr(parents[-1], name))
        value = _coerce(text, hints[type(parents[-1])][leaf], key)
        new = dataclasses.replace(parents[-1], **{leaf: value})
        for parent, name in zip(reversed(parents[:-1]), reversed(path), strict=True):
            new = dataclasses.replace(parent, **{name: new})
        cfg = new
    return cfg


def smoke_config(task: str, **train) -> Config:
    """A task's `smoke` variant: a tiny model that trains one epoch in seconds on a CPU."""
    return Config(
        task=task,
        variant="smoke",
        model=ModelConfig(d_model=16, n_layers=2, d_state=8),
        optim=OptimConfig(lr=0.01, warmup_steps=5),
        train=TrainConfig(**{"batch_size": 8, "eval_batch_size": 16, "epochs": 1,
                             "log_every": 5, **train}),
    )
