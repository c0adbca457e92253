"""The run configuration: typed, frozen dataclasses; every key documented, checked and used.

One file per task (lra/configs/<task>.py) builds its variants ('full' = the paper's run, 'smoke' =
seconds on a CPU, ...) from these defaults. Sections: `model` (the SSM options of
models/choices.py plus the blocks'), `optim`, `train`, and `data`, the task's own options (its
adapter's `Options` dataclass, e.g. Pathfinder's difficulty).

Command-line overrides `--set section.key=value` are checked against the fields: an unknown key,
a value of the wrong type, or a value outside a choice's `Literal` is a one-line error that lists
what is allowed. Choice values are also checked whenever a config is built, so a config file
cannot set one either. Each key's documentation is the comment beside its declaration;
`python -m lra config` prints it with the key's value (`describe`).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import io
import re
import textwrap
import tokenize
import types
import typing
from typing import Any, Literal

import tasks
from lra.errors import ConfigError
from models.choices import ConvChoice, Dtype, Norm, Padding, Pool, Postact, SSMOptions

RematChoice = Literal["auto", True, False]  # a run's: auto compiles and times both (lra/fit.py)


def _choices(hint: Any) -> tuple | None:
    """The allowed values of a Literal hint (also inside `X | None`), else None."""
    if typing.get_origin(hint) is Literal:
        return typing.get_args(hint)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        for arg in typing.get_args(hint):
            if typing.get_origin(arg) is Literal:
                return typing.get_args(arg)
    return None


def show(value: Any) -> str:
    """A choice's value as a user writes it: true/false for booleans, else str()."""
    return str(value).lower() if isinstance(value, bool) else str(value)


@functools.cache
def hints(cls: type) -> dict[str, Any]:
    """Field name -> resolved type annotation of a config dataclass."""
    return typing.get_type_hints(cls)


def check_choices(obj: Any, section: str) -> None:
    """Raises ConfigError if a Literal-typed field of obj holds a value outside its choices."""
    for name, hint in hints(type(obj)).items():
        allowed = _choices(hint)
        value = getattr(obj, name)
        if allowed is not None and value is not None and value not in allowed:
            raise ConfigError(f"{section}.{name}={value!r}: choose one of "
                              f"{', '.join(map(show, allowed))}")


@dataclasses.dataclass(frozen=True)
class ModelConfig(SSMOptions):
    """The model: SSMOptions (the layer's, documented in models/choices.py) and the blocks'."""

    # The run's own: 'auto' times fft and chunked on the run's device and shape when it starts,
    # and config.json records the one chosen (lra/choose.py); the layer takes fft or chunked.
    conv: ConvChoice = "auto"  # how 'conv' convolves: auto (the faster here), fft or chunked
    d_model: int = 128  # H: channels of every layer
    n_layers: int = 4  # residual S4D blocks
    dtype: Dtype = "float32"  # activations/matmuls: 'float32' or 'bfloat16' (kernel stays fp32)
    # The run's own, as conv: 'auto' compiles the training step both ways and takes the one
    # that fits the device's memory, or where both fit remat only if it is clearly faster;
    # config.json records true or false.
    remat: RematChoice = "auto"  # recompute each block in the backward pass: less memory, slower
    norm: Norm = "batch"  # 'batch' (over real positions) or 'layer'
    prenorm: bool = False  # norm before the layer (plus a final norm) or after the residual
    dropout: float = 0.0  # one mask over the whole sequence, in the layer and on the residual
    pool: Pool = "mean"  # 'mean' over the true length, or 'last' (the last real position)
    postact: Postact = "glu"  # after the SSM: Linear(H,2H)+GLU, or 'linear' (S4's postact: null)
    padding: Padding = "masked"  # layers see real positions; 's4': up to the batch's longest

    def __post_init__(self):
        check_choices(self, "model")


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
    # XLA's options for the run's compiled steps, written as XLA_FLAGS writes them; unlike that
    # variable they are set per program, so the run's config.json records them (lra/xla.py).
    xla_flags: str = ""  # e.g. '--xla_gpu_enable_triton_gemm=false' ('': XLA's defaults)
    # The memory a step may plan per device, e.g. '40GiB' to plan for a smaller GPU or to leave
    # room beside another process ('': the accelerator's allocator limit; on a CPU, the host's
    # available memory, a guide only). Read by model.remat=auto, the check before the first
    # step and the dry run (lra/fit.py); what it makes them choose is recorded in config.json.
    memory_limit: str = ""  # bytes per device: '16GiB', '80GB', '17179869184' ('': the device's)
    chance_epochs: int = 2  # 2 classes: stuck_at_chance if train loss is ln 2 ± 0.01 from here on
    # Watching the run: these keys change nothing it computes (WATCH_KEYS), so a run can be
    # resumed with them changed, and tables do not list them as changes.
    sanity: str = "auto"  # healthy val curve: auto (S4's sanity checkpoint; full), off, E:ACC,...
    stop_when_stuck: bool = False  # end a stuck run, or one past its sanity epoch and below it
    tensorboard: bool = True  # live scalars in <workdir>/tensorboard (lra/tracking.py)
    wandb: str = ""  # Weights & Biases project to log to ('': WANDB_PROJECT if set, else off)
    profile_steps: str = ""  # 'A:B': jax.profiler trace of steps A..B-1 in <workdir>/profile

    def __post_init__(self):
        if self.sanity not in ("auto", "off"):
            parse_sanity(self.sanity)
        if self.profile_steps:
            parse_steps(self.profile_steps)
        parse_xla_flags(self.xla_flags)
        if self.memory_limit:
            parse_size(self.memory_limit)


# Keys that only watch a run (see TrainConfig), and train.memory_limit, which only guides what
# a run chooses (config.json records the choice): ignored when a resumed run's config is
# compared with its checkpoint's, and by `changes` (lra/configs/__init__.py).
WATCH_KEYS = ("train.sanity", "train.stop_when_stuck", "train.tensorboard", "train.wandb",
              "train.profile_steps", "train.memory_limit")


# Keys a run may leave to 'auto' and resolve when it starts (lra/choose.py, lra/fit.py): the
# run's config holds the choice, which `changes` does not count as a change from an 'auto' in
# its variant.
CHOSEN_KEYS = ("model.conv", "model.remat")

# Units of train.memory_limit.
SIZE_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
              "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def parse_sanity(text: str, key: str = "train.sanity") -> tuple[tuple[int, float], ...]:
    """'10:0.5' or '2:0.6,5:0.8' -> ((epoch, val accuracy), ...), epochs increasing."""
    points = []
    for item in text.split(","):
        epoch, sep, acc = item.partition(":")
        try:
            point = (int(epoch), float(acc))
        except ValueError:
            point = None
        if not sep or point is None or point[0] < 1 or not 0 < point[1] <= 1:
            raise ConfigError(f"{key}={text!r}: expected auto, off or EPOCH:ACCURACY[,...] with "
                              "epochs >= 1 and accuracies in (0, 1], e.g. 10:0.5")
        points.append(point)
    if [e for e, _ in points] != sorted({e for e, _ in points}):
        raise ConfigError(f"{key}={text!r}: list the epochs in increasing order, each once")
    return tuple(points)


def parse_steps(text: str, key: str = "train.profile_steps") -> tuple[int, int]:
    """'A:B' -> (A, B), the steps A..B-1 (1-based optimiser steps), 1 <= A < B."""
    first, sep, end = text.partition(":")
    try:
        a, b = int(first), int(end)
    except ValueError:
        a = b = 0
    if not sep or not 1 <= a < b:
        raise ConfigError(f"{key}={text!r}: expected A:B with 1 <= A < B, e.g. 10:15 traces "
                          "steps 10 to 14")
    return a, b


def parse_size(text: str, key: str = "train.memory_limit") -> int:
    """'40GiB' -> 42949672960 bytes; '80GB', '512MiB', '17179869184' likewise (SIZE_UNITS)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]i?B|B)?", text)
    value = float(match[1]) * SIZE_UNITS[match[2] or ""] if match else 0
    if not value >= 1:
        raise ConfigError(f"{key}={text!r}: expected a size in bytes, e.g. 40GiB, 80GB or "
                          "512MiB (units: " + ", ".join(u for u in SIZE_UNITS if u) + ")")
    return int(value)


def parse_xla_flags(text: str, key: str = "train.xla_flags") -> dict[str, str | bool]:
    """'--xla_a=1 --xla_b=false --xla_c' -> {'xla_a': '1', 'xla_b': False, 'xla_c': True}: XLA's
    compile options. true/false become booleans (XLA takes no other spelling of them); other
    values stay text, which XLA parses by the option's type. Whether XLA knows each option is
    checked where JAX is (lra/xla.py)."""
    options: dict[str, str | bool] = {}
    for item in text.split():
        name, sep, value = item.removeprefix("--").partition("=")
        if not item.startswith("--xla_") or not name.replace("_", "").isalnum():
            raise ConfigError(f"{key}={text!r}: {item!r} is not an XLA flag; write flags as "
                              "XLA_FLAGS does, e.g. --xla_gpu_enable_triton_gemm=false")
        if name in options:
            raise ConfigError(f"{key}={text!r}: {name} is set twice")
        lower = value.lower()
        options[name] = (True if not sep or lower == "true" else False if lower == "false"
                         else value)
    return options


def task_adapter(name: str) -> tasks.TaskAdapter:
    """The registered adapter of a task, or a ConfigError listing the tasks."""
    if name not in tasks.TASKS:
        raise ConfigError(f"unknown task {name!r}; known: {', '.join(tasks.TASKS)}")
    return tasks.TASKS[name]


@dataclasses.dataclass(frozen=True)
class Config:
    task: str  # registry name in tasks.TASKS
    variant: str  # which variant of the task's config file ('full', 'smoke', ...)
    seed: int = 0  # parameter init, dropout and data order all derive from it
    max_length: int | None = None  # cut sequences to this many tokens (None = the task's own)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    optim: OptimConfig = dataclasses.field(default_factory=OptimConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    data: Any = None  # the task's data options, its adapter's Options (None: their defaults)

    def __post_init__(self):
        options = task_adapter(self.task).Options
        if self.data is None:
            object.__setattr__(self, "data", options())
        elif not isinstance(self.data, options):
            raise ConfigError(f"data of task {self.task} must be {options.__module__}."
                              f"{options.__qualname__}, not {type(self.data).__qualname__}")
        check_choices(self.data, "data")


def to_dict(cfg: Config) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def from_dict(saved: dict[str, Any], where: str) -> Config:
    """The Config that to_dict wrote (a run's config.json: `where`), checked as any config.
    Keys the file lacks take their defaults (records of older versions); unknown keys are an
    error naming them."""
    task = saved.get("task")
    sections = {"model": ModelConfig, "optim": OptimConfig, "train": TrainConfig,
                "data": task_adapter(task).Options}

    def build(cls, values: dict, section: str):
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ConfigError(f"{where}: unknown config key {section + '.' if section else ''}"
                              f"{unknown[0]} (written by another version of lra-s4d?)")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

    top = {k: v for k, v in saved.items() if k not in sections and k != "data_dir"}
    parts = {name: build(cls, saved.get(name) or {}, name) for name, cls in sections.items()}
    return build(Config, {**top, **parts}, "")


def defining(config: dict[str, Any]) -> dict[str, Any]:
    """A config dict (to_dict, or a saved config.json) without its WATCH_KEYS: what the run
    computes depends on exactly this."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in config.items()}
    for key in WATCH_KEYS:
        section, name = key.split(".")
        out.get(section, {}).pop(name, None)
    return out


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


def _coerce(text: str, hint: Any, key: str) -> Any:
    """Parses an override string into the field's declared type."""
    allowed = _choices(hint)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = typing.get_args(hint)
        if text.lower() in ("none", "null") and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
    if allowed is not None:
        value = next((v for v in allowed if show(v) == text.lower() or str(v) == text), None)
        if value is None:
            raise ConfigError(f"--set {key}={text}: choose one of {', '.join(map(show, allowed))}")
        return value
    try:
        if hint is bool:
            if text.lower() in ("true", "1", "yes"):
                return True
            if text.lower() in ("false", "0", "no"):
                return False
            raise ValueError
        if hint in (int, float, str):
            return hint(text)
    except ValueError:
        pass
    raise ConfigError(f"--set {key}={text}: expected a value of type {hint.__name__}")


def choices(cfg: Config, key: str) -> tuple:
    """Every value a choice key allows, in its declared order (a Literal's, or a bool's)."""
    if key not in keys(cfg):
        raise _unknown(cfg, key)
    *path, leaf = key.split(".")
    parent = cfg
    for name in path:
        parent = getattr(parent, name)
    hint = hints(type(parent))[leaf]
    allowed = (True, False) if hint is bool else _choices(hint)
    if allowed is None:
        raise ConfigError(f"--grid {key}=all: {key} is not a choice key; list its values")
    return allowed


def _unknown(cfg: Config, key: str) -> ConfigError:
    """The error for an unknown key: the keys of its section, or every key."""
    section, _, _ = key.rpartition(".")
    known = keys(cfg)
    siblings = [k for k in known if k.rpartition(".")[0] == section]
    if section and section in {k.rpartition(".")[0] for k in known} | {"data"}:
        listed = ", ".join(siblings) if siblings else f"none ({cfg.task} has no {section} options)"
        return ConfigError(f"--set {key}: unknown config key. Keys of {section}: {listed}")
    return ConfigError(f"--set {key}: unknown config key. Known keys: {', '.join(known)}")


def override(cfg: Config, assignments: list[str]) -> Config:
    """Applies `section.key=value` strings to a config, checking every key and value."""
    for item in assignments:
        key, sep, text = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item!r}: expected key=value, e.g. --set train.epochs=3")
        if key not in keys(cfg):
            raise _unknown(cfg, key)
        *path, leaf = key.split(".")
        parents = [cfg]
        for name in path:
            parents.append(getattr(parents[-1], name))
        value = _coerce(text, hints(type(parents[-1]))[leaf], key)
        try:
            new = dataclasses.replace(parents[-1], **{leaf: value})
        except ValueError as e:  # a task's Options checks its own values
            raise ConfigError(f"--set {key}={text}: {e}") from None
        for parent, name in zip(reversed(parents[:-1]), reversed(path), strict=True):
            new = dataclasses.replace(parent, **{name: new})
        cfg = new
    return cfg


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """Field name -> the comment beside its declaration, for a dataclass and its bases."""
    docs: dict[str, str] = {}
    for klass in reversed([k for k in cls.__mro__ if dataclasses.is_dataclass(k)]):
        source = textwrap.dedent(inspect.getsource(klass))
        comments = {tok.start[0]: tok.string.lstrip("# ").strip()
                    for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                    if tok.type == tokenize.COMMENT}
        (node,) = ast.parse(source).body
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                docs[stmt.target.id] = comments.get(stmt.end_lineno, "")
    return docs


def describe(cfg: Any, prefix: str = "") -> list[tuple[str, Any, str]]:
    """(dotted key, value, documentation) for every leaf key of a config."""
    out = []
    docs = field_docs(type(cfg))
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            out += describe(value, f"{prefix}{f.name}.")
        else:
            out.append((prefix + f.name, value, docs.get(f.name, "")))
    return out


# The `demo` variants' convolution and remat, named rather than left to auto: `make demo` states
# the accuracies its runs reach, and auto's choices are timed, so they can change between two
# runs on one machine. The paths agree to rounding, not to the bit, and over an epoch rounding
# differences grow. Measured in two `make demo` runs of one commit: model.remat=auto took false
# (without remat 952.6 ms, with it 1146.8 ms) and then true (1101.5 against 1031.7 ms), and
# ListOps reached 52.2% and 53.1%. These are the paths auto took in the committed demo records.
DEMO_PATHS = {"conv": "fft", "remat": False}


def smoke_config(task: str, **train) -> Config:
    """A task's `smoke` variant: a tiny model that trains one epoch in seconds on a CPU. It names
    its convolution and remat: timing both paths (model.conv=auto) takes seconds, as long as its
    epoch, and at its size the faster path saves milliseconds; model.remat=auto would compile
    and time the step twice more."""
    return Config(
        task=task,
        variant="smoke",
        model=ModelConfig(d_model=16, n_layers=2, d_state=8, conv="fft", remat=False),
        optim=OptimConfig(lr=0.01, warmup_steps=5),
        train=TrainConfig(**{"batch_size": 8, "eval_batch_size": 16, "epochs": 1,
                             "log_every": 5, **train}),
    )
