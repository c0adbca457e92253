"""`python -m lra train ... --dry-run`: will this run fit, and how long will it take?

On the devices JAX sees, builds the config's model, compiles its training step at the config's
batch and the task's maximum length (the longest batch the run will meet), and reports:
parameters; XLA's planned peak memory per device beside the device's memory (lra/fit.py
limit: train.memory_limit, the allocator's, or the host's), with a fix if it does not fit (the
smallest train.grad_accum that brings it under, estimated from how the activation memory
divides; or model.remat=true); compile time; the step time measured over a few steps, with the
bytes the step moves as XLA counts them (lra/hlo_cost.py) and their rate, which set beside the
device's bandwidth (lra/roofline.py, measured by `lra bench`) says how near it is; and the
time per epoch and for the whole run, training and evaluation, predicted from the release's
split sizes (TaskSpec.release_sizes) or, given a data folder, from the data.

model.conv=auto and model.remat=auto are resolved as a run resolves them (lra/choose.py: both
paths timed; lra/fit.py: the step compiled both ways, and timed both ways where both fit) and
the choices reported. Nothing is written, and no data is read unless a data folder is given:
batches are synthetic, of the task's shapes. Token batches at full length are the run's
slowest; tasks whose sequences are shorter (ListOps, Text, Retrieval pad each batch to its own
bucket) run faster than this.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import jax

from lra import choose, fit, hlo_cost, records, xla
from lra.build import max_length, model_name
from lra.configs.common import Config, show, task_adapter
from lra.distributed import DataParallel
from lra.fit import accum_to_fit, local, planned, synthetic_batch
from lra.prepare import check_batches, init_state, jit_steps, load_task, schedule_steps
from lra.report.paper import EPOCH_TIME
from lra.timing import timed
from lra.units import duration, size
from tasks.base import TaskSpec


def compile_train(cfg: Config, spec: TaskSpec, dp: DataParallel, length: int, total_steps: int):
    """(compiled train step, its state and batch on the devices, parameter count, compile s)."""
    bs = cfg.train.batch_size
    small = synthetic_batch(spec, dp.n_devices, min(length, 64))  # parameters need no length
    state, _, _ = init_state(cfg, spec, small, total_steps, jax.random.key(cfg.seed), jit=True)
    state = dp.state(state, cfg.train.shard_params)
    fn, _ = jit_steps(cfg, dp, state)
    batch = dp.put(local(synthetic_batch(spec, bs, length), dp))
    rng = jax.random.key(1)
    t0 = time.perf_counter()
    compiled = fn.lower(state, batch, rng).compile()
    n_params = int(sum(x.size for x in jax.tree.leaves(state.params)))
    return compiled, (state, batch, rng), n_params, time.perf_counter() - t0


def split_sizes(cfg: Config, data_dir: str | None) -> tuple[dict[str, int], str]:
    """Examples per split: from the data if given, else the release's."""
    if data_dir is not None:
        data = load_task(cfg, data_dir)
        return {k: len(v) for k, v in data.splits.items()}, f"the data in {data_dir}"
    return task_adapter(cfg.task).SPEC.release_sizes, "the release's split sizes"


def epoch_batches(cfg: Config, sizes: dict[str, int]) -> tuple[int, int]:
    """(training steps, evaluation batches over val and test) of one epoch on splits of
    `sizes`: the last incomplete training batch is dropped, evaluation keeps it."""
    return (sizes["train"] // cfg.train.batch_size,
            sum(math.ceil(sizes[s] / cfg.train.eval_batch_size) for s in ("val", "test")))


def train_figures(cfg: Config, spec: TaskSpec, dp: DataParallel, length: int,
                  total_steps: int, mem: fit.Limit, steps: int, made=None) -> tuple[dict, Any]:
    """Memory and step time of the training step, and a train state for the evaluation. A step
    that does not fit is not run: it is timed at the grad_accum that would fit, if any.
    `made`: what resolve_remat made for cfg (compile_train's result, and its timing if run)."""
    compiled, args, n_params, compile_s, *timing = made or compile_train(cfg, spec, dp, length,
                                                                         total_steps)
    peak, fixed = planned(compiled)
    out = {"params": n_params, "compile_s": compile_s, "peak_bytes": peak,
           "fixed_bytes": fixed, "fits": peak <= mem.bytes, "grad_accum_to_fit": None,
           "timed_grad_accum": cfg.train.grad_accum, "step_s": None}
    if peak <= mem.bytes:
        out["step_s"], (state, _) = timing[0] if timing else timed(compiled, *args, steps=steps)
        return {**out, **moved(compiled, out["step_s"])}, state
    k = accum_to_fit(peak, fixed, mem.bytes, cfg.train.batch_size, cfg.train.grad_accum,
                     dp.n_devices)
    out["grad_accum_to_fit"] = k
    if k is None:
        return out, args[0]
    fitted = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, grad_accum=k))
    compiled, args, _, _ = compile_train(fitted, spec, dp, length, total_steps)
    out["step_s"], (state, _) = timed(compiled, *args, steps=steps)
    out["timed_grad_accum"] = k
    return {**out, **moved(compiled, out["step_s"])}, state


def moved(compiled, step_s: float) -> dict[str, float | None]:
    """The timed step's operations and bytes as XLA counts them (lra/hlo_cost.py), and the
    bytes per second it moved: beside the device's bandwidth, how near the step is to it."""
    c = hlo_cost.counts(compiled)
    return {"flops": c["flops"], "bytes_accessed": c["bytes_accessed"],
            "fft_bytes": c["fft_bytes"], "bytes_by_part": c["bytes_by_part"],
            "bytes_per_s": c["bytes_accessed"] / step_s if c["bytes_accessed"] else None}


def resolve_remat(cfg: Config, spec: TaskSpec, dp: DataParallel, length: int, total_steps: int,
                  mem: fit.Limit, steps: int) -> tuple[Config, dict | None, Any]:
    """(cfg with model.remat concrete, the choice's record, what was made for it: compile_train's
    result and its timing, or None), as a run resolves model.remat=auto (lra/fit.py)."""
    made: dict[bool, list] = {}

    def plan_of(c: Config) -> fit.Plan:
        made[c.model.remat] = list(compile_train(c, spec, dp, length, total_steps))
        return planned(made[c.model.remat][0])

    def time_of(c: Config) -> float:
        compiled, args, *_ = entry = made[c.model.remat]
        step_s, out = timed(compiled, *args, steps=steps)
        entry.append((step_s, out))
        return step_s

    cfg, choice = fit.resolve(cfg, plan_of, mem, time_of=time_of)
    return cfg, choice, made.get(cfg.model.remat)


def eval_figures(cfg: Config, spec: TaskSpec, dp: DataParallel, length: int, state,
                 limit: int, steps: int) -> dict:
    """Memory and time of one evaluation step at train.eval_batch_size (run only if it fits)."""
    _, fn = jit_steps(cfg, dp, state)
    batch = dp.put(local(synthetic_batch(spec, cfg.train.eval_batch_size, length, seed=2), dp))
    compiled = fn.lower(state, batch).compile()
    peak, _ = planned(compiled)
    step_s = timed(compiled, state, batch, steps=steps)[0] if peak <= limit else None
    return {"eval_peak_bytes": peak, "eval_fits": peak <= limit, "eval_step_s": step_s}


def dry_run(cfg: Config, *, data_dir: str | None = None, steps: int = 3) -> dict[str, Any]:
    """The dry run's figures (module docstring) as a dict; see `report` for the text."""
    spec = task_adapter(cfg.task).SPEC
    dp = DataParallel()
    check_batches(cfg, dp)
    xla.check(cfg)
    sizes, sizes_from = split_sizes(cfg, data_dir)
    length, bs, ebs = max_length(cfg, spec), cfg.train.batch_size, cfg.train.eval_batch_size
    cfg, conv_choice = choose.resolve(cfg, spec,
                                      micro_batch=bs // cfg.train.grad_accum // dp.n_devices)
    steps_per_epoch, eval_batches = epoch_batches(cfg, sizes)
    total_steps = schedule_steps(cfg, steps_per_epoch)
    mem = fit.limit(cfg)
    cfg, remat_choice, made = resolve_remat(cfg, spec, dp, length, total_steps, mem, steps)
    train, state = train_figures(cfg, spec, dp, length, total_steps, mem, steps, made)
    ev = eval_figures(cfg, spec, dp, length, state, mem.bytes, max(1, steps // 2))
    epoch_s = None
    if train["step_s"] is not None and ev["eval_step_s"] is not None:
        epoch_s = steps_per_epoch * train["step_s"] + eval_batches * ev["eval_step_s"]
    return {
        "task": cfg.task, "variant": cfg.variant, "model": model_name(cfg.model),
        "conv": cfg.model.conv, "conv_choice": conv_choice, "remat": cfg.model.remat,
        "remat_choice": remat_choice, "xla_flags": cfg.train.xla_flags,
        "devices": dp.n_devices, "device": jax.devices()[0].device_kind,
        "platform": jax.devices()[0].platform, "batch": bs,
        "grad_accum": cfg.train.grad_accum, "length": length, **train,
        "memory_bytes": mem.bytes, "memory_from": mem.source,
        "examples_per_s": bs / train["step_s"] if train["step_s"] else None, **ev,
        "eval_batch": ebs, "sizes": sizes, "sizes_from": sizes_from,
        "steps_per_epoch": steps_per_epoch, "epoch_s": epoch_s, "epochs": cfg.train.epochs,
        "run_s": cfg.train.epochs * epoch_s if epoch_s is not None else None,
        "s4_epoch_time": EPOCH_TIME.get(cfg.task) if cfg.variant == "full" else None,
        "provenance": {k: v for k, v in records.provenance().items()
                       if k in ("commit", "dirty", "versions", "machine", "xla_flags",
                                "started_utc")},
    }


def report(r: dict[str, Any]) -> list[str]:
    """The dry run's figures as lines of text."""
    fix = r["grad_accum_to_fit"] and f"train.grad_accum={r['grad_accum_to_fit']}"
    lines = [
        f"dry run: {r['task']}/{r['variant']}, {r['model']}, on {r['devices']} x {r['device']} "
        f"({r['platform']})",
        f"  parameters      {r['params']:,}",
        f"  batch           {r['batch']} ({r['batch'] // r['devices']} per device, "
        f"grad_accum {r['grad_accum']}) at length {r['length']:,}",
        *([f"  convolution     {choose.describe(r['conv_choice'])}"] if r["conv_choice"] else []),
        *([f"  remat           {fit.describe(r['remat_choice'])}"]
          if r.get("remat_choice") else []),
        *([f"  XLA flags       {r['xla_flags']} (train.xla_flags)"]
          if r.get("xla_flags") else []),
        f"  compile         {r['compile_s']:.1f} s",
        f"  memory          {size(r['peak_bytes'])} planned per device, of "
        f"{size(r['memory_bytes'])} ({r['memory_from']}): "
        f"{fit.verdict(r['fits'], fix, r.get('remat'))}",
    ]
    if r["step_s"] is None:
        lines.append("  train step      not run (it does not fit)")
    else:
        at = "" if r["timed_grad_accum"] == r["grad_accum"] else \
            f" (at train.grad_accum={r['timed_grad_accum']})"
        rate = (f"; moves {r['bytes_accessed'] / 1e9:,.1f} GB, "
                f"{r['bytes_per_s'] / 1e9:,.1f} GB/s (XLA's count)") if r.get("bytes_per_s") \
            else ""
        lines.append(f"  train step      {1e3 * r['step_s']:.1f} ms, "
                     f"{r['examples_per_s']:.1f} examples/s{at}{rate}")
    lines += where_bytes_go(r)
    lines.append(f"  eval step       {size(r['eval_peak_bytes'])} planned, " + (
        f"{1e3 * r['eval_step_s']:.1f} ms" if r["eval_fits"] else
        "does not fit: lower train.eval_batch_size") + f" at batch {r['eval_batch']}")
    sizes = ", ".join(f"{k} {v:,}" for k, v in r["sizes"].items())
    if r["epoch_s"] is not None:
        train_s = r["steps_per_epoch"] * r["step_s"]
        lines += [f"  epoch           {r['steps_per_epoch']:,} steps: {duration(train_s)} "
                  f"training + {duration(r['epoch_s'] - train_s)} evaluation = "
                  f"{duration(r['epoch_s'])} ({r['sizes_from']}: {sizes})",
                  f"  whole run       {r['epochs']} epoch{'s' if r['epochs'] != 1 else ''}: "
                  f"{duration(r['run_s'])}"]
    if r["s4_epoch_time"]:
        lines.append(f"  S4 reports      {r['s4_epoch_time']} per epoch for its config "
                     "(state-spaces/s4 models/s4/experiments.md)")
    return lines


def where_bytes_go(step: dict, n: int = 5) -> list[str]:
    """The n parts of a step that move the most bytes (lra/hlo_cost.py by_part), as shares of
    all the parts' bytes, each with its largest primitives; none where there are no parts."""
    parts = step.get("bytes_by_part")
    if not parts:
        return []
    total = sum(p["bytes"] for p in parts)
    lines = [f"  bytes by part   conv={step['conv']}, remat={show(step['remat'])}, by the model's "
             "modules (all layers as block_*), forward and backward:"]
    for p in parts[:n]:
        ops = ", ".join(f"{op} {b / total:.0%}" for op, b in p.get("ops", {}).items())
        lines.append(f"                  {p['bytes'] / total:4.0%} {p['part']}"
                     + (f" ({ops})" if ops else ""))
    return lines
