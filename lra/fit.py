"""Does a run's step fit its device's memory? `model.remat=auto` (the default), and the check
before the first step.

XLA plans every buffer of a compiled program before it runs (`memory_analysis`), so compiling
the training step at the run's batch and longest length tells its peak per device without
running it. The limit it is held against (`limit`): train.memory_limit where set; else the
accelerator's allocator limit (the part of the device's memory JAX may take), a hard wall; else,
on a CPU, the host memory available now, a guide only (swap, other processes).

model.remat=auto compiles the step both ways, without remat and with it (models/sequence.py
remat_block: the same values, one (B, L, H) input kept per block instead of about 13 tensors).
Where only one fits, it takes that one. Where both fit, it times both, as model.conv=auto times
the convolutions, and takes remat if it is at least 5% faster (REMAT_GAIN): recomputing costs
operations but saves the memory
traffic of the saved activations, and on this project's CPU the recomputed Path-X step was the
faster one (results/bench/dryrun-remat-cpu-2core.jsonl). The choice is written into the run's
config (config.json says what ran, and a resumed run keeps it), and its figures into the run's
records (`remat_choice`). In a run of several processes, process 0's choice is every one's.

Against a hard limit a step that still does not fit stops the run before anything is written,
with the fix (the smallest train.grad_accum, or the largest train.eval_batch_size, under which
the step compiled fits), instead of an out-of-memory error at the first step or, for the
evaluation step, after the first epoch.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from lra.configs.common import Config, parse_size, show
from lra.distributed import DataParallel, from_process_0
from lra.errors import ConfigError, first_line
from lra.units import size
from tasks.base import TaskSpec

Plan = tuple[int, int]  # (peak bytes per device, of which fixed: arguments and outputs)
SHOWN = {"false": False, "true": True}  # model.remat's values, as records write them
# Where both fit, remat is taken only if its step is at least this much faster: closer timings
# are within one machine's noise (up to 16% between records on this project's CPU), and a run's
# choice should not follow the noise.
REMAT_GAIN = 0.05


@dataclasses.dataclass(frozen=True)
class Limit:
    bytes: int  # what one device's step may plan
    source: str  # where the figure comes from, for messages
    hard: bool  # a step over it fails (an allocator's limit, or one the user gave)


def limit(cfg: Config) -> Limit:
    """The memory one device's step may plan (module docstring)."""
    if cfg.train.memory_limit:
        return Limit(parse_size(cfg.train.memory_limit), "train.memory_limit", True)
    device = jax.local_devices()[0]
    stats = device.memory_stats() or {}
    if "bytes_limit" in stats:
        return Limit(int(stats["bytes_limit"]), f"the {device.device_kind} allocator's limit",
                     True)
    return Limit(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"),
                 "host memory available", False)


def planned(compiled) -> Plan | tuple[None, None]:
    """(peak bytes per device, of which fixed) from XLA's analysis; None where the backend
    gives none."""
    m = compiled.memory_analysis()
    if m is None:
        return None, None
    fixed = m.argument_size_in_bytes + m.output_size_in_bytes - m.alias_size_in_bytes
    return fixed + m.temp_size_in_bytes, fixed


def accum_to_fit(peak: int, fixed: int, limit: int, batch: int, accum: int,
                 n_devices: int) -> int | None:
    """The smallest train.grad_accum above `accum` that is valid for the batch and under which
    the activations (peak - fixed, which scale with the micro-batch) fit; None if none does."""
    for k in range(accum + 1, batch + 1):
        if batch % k == 0 and (batch // k) % n_devices == 0 and \
                fixed + (peak - fixed) * accum / k <= limit:
            return k
    return None


def synthetic_batch(spec: TaskSpec, batch: int, length: int, seed: int = 0) -> dict:
    """A batch of the task's shapes at full length: random tokens (or normal values), every
    example real."""
    key = jax.random.key(seed)
    shape = (batch, length) if spec.vocab_size else (batch, length, spec.in_dim)
    inputs = (jax.random.randint(key, shape, 3, spec.vocab_size) if spec.vocab_size
              else jax.random.normal(key, shape))
    out = {"inputs": inputs, "lengths": jnp.full((batch,), length, jnp.int32),
           "targets": jnp.zeros((batch,), jnp.int32), "weights": jnp.ones((batch,))}
    if spec.paired:
        out |= {"inputs2": inputs, "lengths2": out["lengths"]}
    return out


def local(batch: dict, dp: DataParallel) -> dict:
    """This process's rows of a global batch (all of it in a one-process run)."""
    p, n = dp.local_part()
    rows = len(batch["targets"])
    return {k: v[p * rows // n:(p + 1) * rows // n] for k, v in jax.device_get(batch).items()}


def with_remat(cfg: Config, remat: bool) -> Config:
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, remat=remat))


def resolve(cfg: Config, plan_of: Callable[[Config], Plan], mem: Limit, *,
            time_of: Callable[[Config], float] | None = None,
            saved: bool | None = None) -> tuple[Config, dict[str, Any] | None]:
    """(cfg with model.remat concrete, the choice's record or None). `plan_of(cfg)`: the
    training step's Plan compiled under cfg; `time_of(cfg)`: its seconds per step, asked only
    where both fit (then remat is taken if at least REMAT_GAIN faster: recomputing can win where
    the saved activations would cost more memory traffic). `saved`: a resumed run's own choice,
    kept."""
    if cfg.model.remat != "auto":
        return cfg, None
    if saved is not None:
        return with_remat(cfg, saved), {"chosen": saved, "by": "the resumed run's config.json"}
    peaks = {show: plan_of(with_remat(cfg, value))[0] for show, value in SHOWN.items()}
    fits = {show: peak is None or peak <= mem.bytes for show, peak in peaks.items()}
    record: dict[str, Any] = {"peak_bytes": peaks, "limit_bytes": mem.bytes,
                              "limit_from": mem.source}
    if all(fits.values()) and time_of is not None:
        ms, failed = {}, {}
        for show, value in SHOWN.items():
            try:
                ms[show] = 1e3 * time_of(with_remat(cfg, value))
            except jax.errors.JaxRuntimeError as e:  # planned within the limit, yet it failed
                ms[show], failed[show] = math.inf, first_line(e, 200)
        record |= {"step_ms": {k: v if v < math.inf else None for k, v in ms.items()},
                   **({"failed": failed} if failed else {})}
        chosen = ms["true"] < (1 - REMAT_GAIN) * ms["false"]
    else:  # the one that fits; neither: the smaller (the check then says what to change)
        chosen = not fits["false"]
    chosen = bool(from_process_0(chosen))  # every process compiles the same program
    return with_remat(cfg, chosen), {"chosen": chosen, **record}


def describe(choice: dict[str, Any]) -> str:
    """One line for the run's log, e.g. 'model.remat=auto: true (a step 36663.5 ms with remat,
    49295.0 ms without; planned 4.91 GiB and 19.20 GiB, both within ...)'."""
    head = f"model.remat=auto: {show(choice['chosen'])}"
    if "peak_bytes" not in choice:
        return f"{head} ({choice['by']})"
    peaks = {k: "no plan" if v is None else size(v) for k, v in choice["peak_bytes"].items()}
    of = f"{size(choice['limit_bytes'])} ({choice['limit_from']})"
    if "step_ms" in choice:
        ms = {k: "failed" if v is None else f"{v:.1f} ms" for k, v in choice["step_ms"].items()}
        return (f"{head} (a step {ms['true']} with remat, {ms['false']} without; planned "
                f"{peaks['true']} and {peaks['false']}, both within {of})")
    return (f"{head} (the step plans {peaks['false']} without remat and {peaks['true']} with "
            f"it, against {of})")


def verdict(fits: bool, fix: str | None, remat: bool | None = None) -> str:
    """'fits', or 'does not fit: try FIX or model.remat=true' (remat where it is off): the dry
    run's and the plan's word on one step."""
    if fits:
        return "fits"
    fixes = [*([fix] if fix else []), *(["model.remat=true"] if remat is False else [])]
    return "does not fit: " + (f"try {' or '.join(fixes)}" if fixes else
                               "try a smaller train.batch_size or model")


def smallest_accum(cfg: Config, train: Plan, mem: Limit, dp: DataParallel,
                   train_at: Callable[[int], Plan]) -> int | None:
    """The smallest train.grad_accum under which the training step, compiled (`train_at`),
    fits; tried from the estimate up (accum_to_fit); None if none does."""
    t, k = cfg.train, cfg.train.grad_accum
    while (k := accum_to_fit(*train, mem.bytes, t.batch_size, k, dp.n_devices)) is not None:
        if train_at(k)[0] <= mem.bytes:
            return k
    return None


def largest_eval_batch(cfg: Config, mem: Limit, dp: DataParallel,
                       eval_at: Callable[[int], Plan]) -> int | None:
    """The largest train.eval_batch_size (a multiple of the device count) under which the
    evaluation step, compiled (`eval_at`), fits: its memory grows with the batch, so a
    bisection; None if not even the smallest does."""
    n = dp.n_devices
    lo, hi = 0, cfg.train.eval_batch_size // n  # lo fits (0: none known), hi does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if eval_at(mid * n)[0] <= mem.bytes else (lo, mid)
    return lo * n or None


def check(cfg: Config, train: Plan, evaluation: Plan, mem: Limit, dp: DataParallel,
          train_at: Callable[[int], Plan], eval_at: Callable[[int], Plan]) -> None:
    """Raises a one-line ConfigError if the training or evaluation step plans more than a hard
    limit, naming the fix, found by compiling the step under it (`train_at(grad_accum)`,
    `eval_at(eval_batch_size)`: their Plans)."""
    if not mem.hard or train[0] is None:
        return
    of = f"{size(mem.bytes)} of {mem.source}"
    if train[0] > mem.bytes:
        k = smallest_accum(cfg, train, mem, dp, train_at)
        fixes = [*([f"train.grad_accum={k}"] if k else []),
                 *(["model.remat=true"] if cfg.model.remat is False else []),
                 *([] if k else ["a smaller train.batch_size or model"])]
        raise ConfigError(f"the training step plans {size(train[0])} per device, over the {of}: "
                          f"set {' or '.join(fixes)} (python -m lra train ... --dry-run shows "
                          "the figures)")
    if evaluation[0] is not None and evaluation[0] > mem.bytes:
        e = largest_eval_batch(cfg, mem, dp, eval_at)
        fix = f"set train.eval_batch_size={e}" if e else "use a smaller model"
        raise ConfigError(f"the evaluation step plans {size(evaluation[0])} per device at "
                          f"train.eval_batch_size={cfg.train.eval_batch_size}, over the {of}: "
                          f"{fix}")
