"""`model.conv=auto` (the default): the run times the convolution paths on its own device and
shape, and takes the fastest.

The FFT convolution and the chunked one (models/chunked.py) are the same map, tested equal to a
float64 recurrence, so which runs faster is a question of the device alone: on a CPU the FFT is
2-2.5x faster at every length measured (results/bench/cpu-2core.jsonl); on an accelerator the
chunked path's matrix products may win. Like cuDNN's benchmark mode, the run measures instead
of guessing: one S4D layer's SSM (kernel + convolution + D skip), forward and backward, at the
run's per-device micro-batch, longest length, width and dtype, each path compiled and timed on
the first device. The choice is written into the run's config (config.json says what ran, and
a resumed run keeps it), and its timings into the run's records (`conv_choice`).

In a run of several processes, process 0 times and the others take its choice, so that every
process compiles the same program.
"""

from __future__ import annotations

import dataclasses
import statistics
from typing import Any

import jax
import jax.numpy as jnp

from lra import xla
from lra.build import max_length, ssm_config
from lra.configs.common import Config
from lra.distributed import from_process_0
from lra.errors import TrainingError, first_line
from lra.timing import compile_and_time
from models import s4d
from models.choices import Conv, values
from models.s4d import SSMConfig
from tasks.base import TaskSpec

PATHS = values(Conv)  # what auto chooses among: fft, chunked
RUNS = 3  # timed runs per path, after one warm-up
_chosen: dict[tuple, dict[str, Any]] = {}  # this process's choices, by device and shape


def layer_fn(ssm: SSMConfig, H: int, L: int):
    """(value and grad of one layer's SSM + D skip w.r.t. parameters and input, its init)."""
    kernel = s4d.S4DKernel(ssm)

    def loss(params, u):
        log_dA, dB, C = kernel.apply({"params": params["kernel"]}, H, L)
        return jnp.sum(jnp.square(s4d.apply_ssm(ssm, u, log_dA, dB, C, params["D"])))

    def init(key):
        return {"kernel": kernel.init(key, H, L)["params"], "D": jnp.ones((H,))}

    return jax.value_and_grad(loss, argnums=(0, 1)), init


def time_path(ssm: SSMConfig, B: int, L: int, H: int, dtype: str, device,
              give_up_ms: float = float("inf"), options: dict | None = None) -> float:
    """Median ms of the layer's forward + backward at (B, L, H) on `device`, after one warm-up;
    stops after the first timed run if that is over give_up_ms (a path that cannot win).
    `options`: the run's XLA compile options (lra/xla.py)."""
    fn, init = layer_fn(ssm, H, L)
    params = jax.device_put(init(jax.random.key(0)), device)
    u = jax.device_put(jax.random.normal(jax.random.key(1), (B, L, H)).astype(dtype), device)
    _, _, times = compile_and_time(fn, params, u, runs=RUNS, give_up_s=give_up_ms / 1e3,
                                   options=options)
    return 1e3 * statistics.median(times)


def choose(ssm: SSMConfig, B: int, L: int, H: int, dtype: str,
           options: dict | None = None) -> dict[str, Any]:
    """{'chosen': the fastest path, 'median_ms': {path: ms}, 'shape', 'dtype', 'device'}, timed
    on this process's first device under XLA's `options` (cached for the process: equal runs
    are timed once). A path that fails on the device (out of its memory, say) is left out, and
    said so ('failed')."""
    device = jax.local_devices()[0]
    key = (device.device_kind, ssm, B, L, H, dtype, tuple(sorted((options or {}).items())))
    if key not in _chosen:
        ms: dict[str, float] = {}
        failed: dict[str, str] = {}
        for path in PATHS:
            best = min(ms.values(), default=float("inf"))
            try:
                ms[path] = time_path(dataclasses.replace(ssm, conv=path), B, L, H, dtype,
                                     device, give_up_ms=2 * best, options=options)
            except jax.errors.JaxRuntimeError as e:
                failed[path] = first_line(e, 200)
        if not ms:
            raise TrainingError(f"model.conv=auto: every path failed on {device.device_kind} "
                                f"at B={B}, L={L}, H={H} ({failed}); see `python -m lra train "
                                "... --dry-run` for what fits")
        _chosen[key] = {"chosen": min(ms, key=ms.get), "median_ms": ms, "shape": [B, L, H],
                        "dtype": dtype, "device": device.device_kind,
                        **({"failed": failed} if failed else {})}
    return _chosen[key]


def agree(choice: dict[str, Any]) -> dict[str, Any]:
    """Process 0's choice on every process (alone: the choice itself)."""
    if jax.process_count() == 1:
        return choice
    return {**choice, "chosen": PATHS[from_process_0(PATHS.index(choice["chosen"]))],
            "by": "process 0"}


def with_conv(cfg: Config, conv: str) -> Config:
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, conv=conv))


def resolve(cfg: Config, spec: TaskSpec, *, micro_batch: int,
            saved: str | None = None) -> tuple[Config, dict[str, Any] | None]:
    """(cfg with model.conv concrete, the choice's record or None), for a run of the task at its
    longest length with `micro_batch` examples per device and step. `saved`: a resumed run's
    own choice, kept. Nothing is timed where the config names a path, or where
    mode=recurrent (no convolution)."""
    if cfg.model.conv != "auto":
        return cfg, None
    if saved is not None:
        return with_conv(cfg, saved), {"chosen": saved, "by": "the resumed run's config.json"}
    if cfg.model.mode == "recurrent":
        return with_conv(cfg, "fft"), {"chosen": "fft", "by": "mode=recurrent (not timed)"}
    ssm = ssm_config(with_conv(cfg, "fft"), spec)
    choice = agree(choose(ssm, micro_batch, max_length(cfg, spec), cfg.model.d_model,
                          cfg.model.dtype, xla.options(cfg)))
    return with_conv(cfg, choice["chosen"]), choice


def describe(choice: dict[str, Any]) -> str:
    """One line for the run's log: 'model.conv=auto: fft (12.1 ms; chunked 30.2 ms) ...'."""
    if "median_ms" not in choice:
        return f"model.conv=auto: {choice['chosen']} ({choice['by']})"
    ms = choice["median_ms"]
    others = "; ".join([*(f"{p} {ms[p]:.1f} ms" for p in ms if p != choice["chosen"]),
                        *(f"{p} failed: {why}" for p, why in choice.get("failed", {}).items())])
    B, L, H = choice["shape"]
    return (f"model.conv=auto: {choice['chosen']} ({ms[choice['chosen']]:.1f} ms; {others}), "
            f"one layer's forward + backward at B={B}, L={L}, H={H}, {choice['dtype']}, on "
            f"{choice['device']}" + (f", chosen by {choice['by']}" if "by" in choice else ""))
