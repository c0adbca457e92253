"""`python -m lra train ... --plan-for GPU`: will this run fit a GPU that this machine does not
have? The memory half of the dry run (lra/dryrun.py), on a laptop or a cluster's login node.

XLA's GPU compiler runs without a GPU: JAX's CUDA plugin compiles for a described device
(`jax.experimental.topologies.get_topology_desc`, the target config XLA reads: compute
capability, cores, caches, memory) and plans every buffer as it would on that device, so the
plan's peak per device is the figure a run's own check reads there (lra/fit.py). Nothing runs,
so nothing is timed: the compile only needs the plugin's compiler, not its CUDA libraries.
`make install` puts the plugin (jax-cuda12-plugin and jax-cuda12-pjrt at the locked JAX version,
without their CUDA libraries) in the venv's `cuda-plan` folder, apart from the packages, which
only --plan-for reads: in the venv itself, on a machine without a GPU, JAX would try to start
the plugin in every process and print its failure. With `make install ACCEL=cuda12|cuda13` the
venv holds the plugin itself.

The host's own JAX runs on its CPU (jax_platforms=cpu, set before JAX starts its backends), so a
GPU-less machine does not try to start CUDA. The state and the batch are abstract
(shapes, dtypes and where they sit on the planned devices); their values are never made.

What is planned: the training step at the config's batch and the task's longest length, under
each path model.conv=auto and model.remat=auto choose among (one where the key is set), and the
evaluation step at train.eval_batch_size. Each is held against the limit the run would meet:
train.memory_limit where set, else JAX's allocator limit on that GPU, XLA_PYTHON_CLIENT_MEM_FRACTION
(JAX's default 0.75) of its memory. Where a plan is over it, the smallest train.grad_accum that
brings it under is found by compiling the step under it, as a run's check finds it.

Time is not planned, but its floor set by memory is: each planned step's operations and bytes
as XLA counts them (lra/hlo_cost.py: its cost analysis of the optimised program, each loop's body
as many times as it runs; the bytes as if nothing stayed in cache between fusions, near a GPU's
traffic where a step's tensors are far larger than its L2 cache), and the seconds those bytes
take at the GPU's memory bandwidth (its datasheet's: `traffic_s`). An epoch at that rate
(`epoch_traffic_s`: the release's training steps and evaluation batches) is what the device's
own measured epoch (the dry run's) is held against: their ratio is the share of the bandwidth
a run reaches. It is not a timing and not a bound in the strict sense (data kept in cache moves
less), and the operations say how near the step is to being limited by arithmetic instead:
`flops32` is the GPU's float32 rate on its CUDA cores (2 x lanes x cores x clock).

The GPUs (GPUS) give their memory as their datasheets do, in 10^9 bytes: a few percent under
what the devices report (an H100 80GB reports 84.9e9 bytes, XLA's target config of it in
openxla/xla's tests), so a plan that fits here fits there. Another GPU: a file holding its
target config in XLA's text form (openxla/xla xla/tools/hlo_opt/gpu_specs).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import sys
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
from jax.experimental import topologies

from lra import fit, hlo_cost, records
from lra.build import max_length, model_name
from lra.configs.common import Config, parse_size, show, task_adapter
from lra.distributed import DataParallel
from lra.dryrun import epoch_batches, where_bytes_go
from lra.errors import ConfigError, first_line
from lra.prepare import check_batches, init_state, jit_steps, schedule_steps
from lra.report.paper import EPOCH_TIME
from lra.units import short_duration, size
from models.choices import Conv, values


@dataclasses.dataclass(frozen=True)
class Gpu:
    """The fields of XLA's GPU target config (GpuDeviceInfoProto) that its compiler reads, from
    the GPU's datasheet (`source`)."""

    kind: str  # the device_kind JAX reports for it
    sm: tuple[int, int]  # CUDA compute capability
    cores: int  # streaming multiprocessors
    fpus_per_core: int  # float32 lanes per SM
    memory: int  # bytes, the datasheet's GB (module docstring)
    bandwidth: float  # memory bandwidth, bytes/s
    l2: int  # bytes
    smem_per_core: int  # shared memory per SM, bytes
    smem_optin: int  # the most one block may opt in to, bytes
    clock_ghz: float  # boost clock
    source: str

    def target_config(self) -> str:
        """The GpuTargetConfigProto text get_topology_desc takes."""
        return f"""gpu_device_info {{
  threads_per_block_limit: 1024
  threads_per_warp: 32
  shared_memory_per_block: 49152
  shared_memory_per_core: {self.smem_per_core}
  threads_per_core_limit: 2048
  core_count: {self.cores}
  fpus_per_core: {self.fpus_per_core}
  block_dim_limit_x: 2147483647
  block_dim_limit_y: 65535
  block_dim_limit_z: 65535
  memory_bandwidth: {int(self.bandwidth)}
  l2_cache_size: {self.l2}
  clock_rate_ghz: {self.clock_ghz}
  device_memory_size: {self.memory}
  shared_memory_per_block_optin: {self.smem_optin}
  cuda_compute_capability {{ major: {self.sm[0]} minor: {self.sm[1]} }}
  registers_per_core_limit: 65536
  registers_per_block_limit: 65536
}}
platform_name: "CUDA"
dnn_version_info {{ major: 9 minor: 8 }}
device_description_str: "{self.kind}"
"""


_A100 = "NVIDIA A100 Tensor Core GPU datasheet (SXM4); CUDA C++ Programming Guide, compute 8.0"
_H100 = "NVIDIA H100 Tensor Core GPU datasheet (SXM5); CUDA C++ Programming Guide, compute 9.0"
_H200 = "NVIDIA H200 Tensor Core GPU datasheet (SXM); the H100's GH100 chip, compute 9.0"
GPUS = {
    "a100-40gb": Gpu("NVIDIA A100-SXM4-40GB", (8, 0), 108, 64, 40 * 10**9, 1.555e12, 40 * 2**20,
                     167_936, 166_912, 1.41, _A100),
    "a100-80gb": Gpu("NVIDIA A100-SXM4-80GB", (8, 0), 108, 64, 80 * 10**9, 2.039e12, 40 * 2**20,
                     167_936, 166_912, 1.41, _A100),
    "h100-80gb": Gpu("NVIDIA H100 80GB HBM3", (9, 0), 132, 128, 80 * 10**9, 3.35e12, 50 * 2**20,
                     233_472, 232_448, 1.98, _H100),
    "h200": Gpu("NVIDIA H200", (9, 0), 132, 128, 141 * 10**9, 4.8e12, 50 * 2**20,
                233_472, 232_448, 1.98, _H200),
}
DEFAULT_FRACTION = 0.75  # JAX's XLA_PYTHON_CLIENT_MEM_FRACTION default: its allocator's share


@dataclasses.dataclass(frozen=True)
class Target:
    """What --plan-for names: a GPU's target config, its memory, and how many of it."""

    name: str
    kind: str
    config: str  # GpuTargetConfigProto text
    memory: int
    count: int
    source: str
    bandwidth: float | None  # memory bandwidth, bytes/s (None: the file gives none)
    flops32: float | None  # float32 operations/s of its CUDA cores: 2 x lanes x cores x clock


def _field(config: str, name: str) -> float | None:
    m = re.search(rf"\b{name}:\s*([\d.]+)", config)
    return float(m.group(1)) if m else None


def _rates(config: str) -> tuple[float | None, float | None]:
    """(memory bandwidth, float32 rate) that a target config describes."""
    lanes = [_field(config, k) for k in ("fpus_per_core", "core_count", "clock_rate_ghz")]
    return (_field(config, "memory_bandwidth"),
            2 * lanes[0] * lanes[1] * lanes[2] * 1e9 if all(lanes) else None)


def target(text: str) -> Target:
    """--plan-for's value: NAME or FILE, then optionally :N devices (one host)."""
    what, _, n = text.partition(":")
    if n and (not n.isdigit() or int(n) < 1):
        raise ConfigError(f"--plan-for {text}: after ':' give the number of GPUs, e.g. {what}:8")
    count = int(n or 1)
    if what in GPUS:
        g = GPUS[what]
        return Target(what, g.kind, g.target_config(), g.memory, count, g.source,
                      *_rates(g.target_config()))
    path = Path(what)
    if not path.is_file():
        raise ConfigError(f"--plan-for {what}: no such GPU; name one of {', '.join(GPUS)} or a "
                          "file holding XLA's GPU target config (GpuTargetConfigProto text)")
    config = path.read_text()
    memory = re.search(r"device_memory_size:\s*(\d+)", config)
    kind = re.search(r'device_description_str:\s*"([^"]*)"', config)
    if memory is None or kind is None:
        raise ConfigError(f"{path}: not a GPU target config: it needs device_memory_size and "
                          "device_description_str (see openxla/xla xla/tools/hlo_opt/gpu_specs)")
    return Target(path.name, kind.group(1), config, int(memory.group(1)), count, str(path),
                  *_rates(config))


def limit(cfg: Config, t: Target) -> tuple[int, str]:
    """(bytes one device's step may plan, where that comes from): module docstring."""
    if cfg.train.memory_limit:
        return parse_size(cfg.train.memory_limit), "train.memory_limit"
    fraction = os.environ.get("XLA_PYTHON_CLIENT_MEM_FRACTION")
    share = float(fraction) if fraction else DEFAULT_FRACTION
    where = "XLA_PYTHON_CLIENT_MEM_FRACTION" if fraction else "JAX's default"
    return int(share * t.memory), f"JAX's allocator limit: {share:g} ({where}) of the {t.kind}'s"


def host_only() -> None:
    """JAX on this machine's CPU alone (module docstring); before JAX starts its backends."""
    if not os.environ.get("JAX_PLATFORMS"):
        jax.config.update("jax_platforms", "cpu")
    # `make install` puts the plugin in the venv's cuda-plan folder (module docstring); a venv
    # holding a CUDA plugin already (ACCEL=cuda12|cuda13) keeps its own, one plugin per platform.
    side = Path(sys.prefix, "cuda-plan")
    if side.is_dir() and not _cuda_plugin():
        sys.path.append(str(side))


def _cuda_plugin() -> bool:
    try:
        return any(importlib.util.find_spec(f"jax_plugins.xla_cuda{v}") for v in (12, 13))
    except ModuleNotFoundError:  # no jax_plugins package at all
        return False


def devices(t: Target) -> list[Any]:
    """The planned GPUs, as compile-only devices; a one-line error where JAX cannot make them."""
    try:
        topo = topologies.get_topology_desc("", "cuda", target_config=t.config,
                                            topology=f"1x1x{t.count}")
    except NotImplementedError:
        raise ConfigError(
            "--plan-for needs JAX's CUDA plugin (its compiler; no GPU or CUDA libraries): make "
            "install puts it in .venv/cuda-plan; else pip install --target "
            f"{Path(sys.prefix, 'cuda-plan')} jax-cuda12-plugin=={jax.__version__} "
            f"jax-cuda12-pjrt=={jax.__version__}"
        ) from None
    except jax.errors.JaxRuntimeError as e:
        raise ConfigError(f"--plan-for {t.name}: JAX's CUDA plugin refused the target config: "
                          f"{str(e).splitlines()[0]}") from None
    return list(topo.devices)


def _abstract(tree, place):
    """Each leaf as a ShapeDtypeStruct, placed by place(leaf): shapes, no values."""
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x),
                                                       sharding=place(x)), tree)


def _state(cfg: Config, spec, dp: DataParallel, length: int, total_steps: int):
    """The run's train state, abstract and placed as the run places it (replicated, or split
    with train.shard_params): jax.eval_shape of the trainer's own initialisation."""
    small = fit.synthetic_batch(spec, 1, min(length, 64))  # parameters need no length
    state = jax.eval_shape(lambda k: init_state(cfg, spec, small, total_steps, k)[0],
                           jax.random.key(cfg.seed))
    return _abstract(state, lambda x: dp.sharding_of(x, cfg.train.shard_params))


def _batch(spec, batch: int, length: int, dp: DataParallel) -> dict:
    return _abstract(jax.eval_shape(lambda: fit.synthetic_batch(spec, batch, length)),
                     lambda _: dp.batch)


# Without the device XLA cannot autotune its matrix products, and its default Triton tiling of
# some does not compile ("Couldn't find output tile sizes", Retrieval's (B·2L, H) output
# projection). Such a step is planned again with cuBLAS's products, as autotuning could choose.
TRITON_OFF = "--xla_gpu_enable_triton_gemm=false"


def _planner(cfg: Config, spec, dp: DataParallel, length: int, total_steps: int):
    """(train_at(cfg) and eval_at(cfg): the Plan of the step compiled for the target under cfg,
    at its batch, or its eval batch, and the task's longest length; state_of(cfg): its abstract
    train state, made once per config; count_of(cfg, train): XLA's operation and byte counts of
    the step planned under cfg (lra/hlo_cost.py); the flags of the steps that needed TRITON_OFF
    and why, by the step's description)."""
    key = jax.ShapeDtypeStruct((), jax.random.key(0).dtype, sharding=dp.replicated)
    retried: dict[str, dict[str, str]] = {}
    states: dict[Config, Any] = {}
    programs: dict[tuple[Config, bool], Any] = {}

    def state_of(c: Config):
        if c not in states:
            states[c] = _state(c, spec, dp, length, total_steps)
        return states[c]

    def compiled(c: Config, train: bool):
        state = state_of(c)
        train_fn, eval_fn = jit_steps(c, dp, state)
        if train:
            return train_fn.lower(state, _batch(spec, c.train.batch_size, length, dp),
                                  key).compile()
        return eval_fn.lower(state, _batch(spec, c.train.eval_batch_size, length, dp)).compile()

    def planned(c: Config, train: bool) -> fit.Plan:
        try:
            program = compiled(c, train)
        except jax.errors.JaxRuntimeError as e:
            which = "train" if train else "eval"
            if TRITON_OFF in c.train.xla_flags:
                raise ConfigError(f"XLA's GPU compiler failed on the {which} step: "
                                  f"{first_line(e, 300)}") from None
            flags = f"{c.train.xla_flags} {TRITON_OFF}".strip()
            retried[f"{which} conv={c.model.conv} remat={show(c.model.remat)}"] = {
                "flags": flags, "error": first_line(e, 160)}
            program = compiled(_with(c, "train", xla_flags=flags), train)
        programs[c, train] = program
        return fit.planned(program)

    def count_of(c: Config, train: bool) -> dict:
        return hlo_cost.counts(programs[c, train])

    return ((lambda c: planned(c, True)), (lambda c: planned(c, False)), state_of, count_of,
            retried)


def _with(cfg: Config, section: str, **changes) -> Config:
    return dataclasses.replace(cfg, **{section: dataclasses.replace(getattr(cfg, section),
                                                                    **changes)})


def plan(cfg: Config, t: Target) -> dict[str, Any]:
    """The plan's figures (module docstring) as a dict; see `report` for the text."""
    spec = task_adapter(cfg.task).SPEC
    dp = DataParallel(devices(t))
    check_batches(cfg, dp)
    length = max_length(cfg, spec)
    total_steps = schedule_steps(cfg, spec.release_sizes["train"] // cfg.train.batch_size)
    mem_bytes, mem_from = limit(cfg, t)
    mem = fit.Limit(mem_bytes, mem_from, True)
    train_at, eval_at, state_of, count_of, retried = _planner(cfg, spec, dp, length,
                                                              total_steps)
    convs = values(Conv) if cfg.model.conv == "auto" else (cfg.model.conv,)
    remats = (False, True) if cfg.model.remat == "auto" else (cfg.model.remat,)
    steps, evals = [], []
    for conv in convs:
        for remat in remats:
            c = _with(cfg, "model", conv=conv, remat=remat)
            peak, fixed = train_at(c)
            k = None if peak <= mem.bytes else fit.smallest_accum(
                c, (peak, fixed), mem, dp, lambda a, c=c: train_at(_with(c, "train", grad_accum=a)))
            steps.append({"conv": conv, "remat": remat, "peak_bytes": peak, "fixed_bytes": fixed,
                          "fits": peak <= mem.bytes, "grad_accum_to_fit": k,
                          **_moved(count_of(c, True), t)})
        c = _with(cfg, "model", conv=conv, remat=False)
        peak, _ = eval_at(c)
        e = None if peak <= mem.bytes else fit.largest_eval_batch(
            c, mem, dp, lambda b, c=c: eval_at(_with(c, "train", eval_batch_size=b)))
        evals.append({"conv": conv, "peak_bytes": peak, "fits": peak <= mem.bytes,
                      "eval_batch_to_fit": e, **_moved(count_of(c, False), t)})
    state = state_of(_with(cfg, "model", conv=convs[0], remat=remats[0]))  # the first planned
    return {
        "task": cfg.task, "variant": cfg.variant, "model": model_name(cfg.model),
        "target": t.name, "device": t.kind, "devices": t.count, "gpu_memory_bytes": t.memory,
        "gpu_from": t.source, "memory_bytes": mem.bytes, "memory_from": mem.source,
        "params": int(sum(x.size for x in jax.tree.leaves(state.params))),
        "batch": cfg.train.batch_size, "grad_accum": cfg.train.grad_accum, "length": length,
        "eval_batch": cfg.train.eval_batch_size, "dtype": cfg.model.dtype, "conv": cfg.model.conv,
        "remat": cfg.model.remat, "xla_flags": cfg.train.xla_flags, "steps": steps,
        "evals": evals, "retried": retried, "bandwidth": t.bandwidth, "flops32": t.flops32,
        **_epochs(cfg, spec, steps, evals),
        "provenance": {k: v for k, v in records.provenance().items()
                       if k in ("commit", "dirty", "versions", "machine", "started_utc")},
    }


def _moved(count: dict, t: Target) -> dict[str, Any]:
    """A step's counts, and the seconds its bytes take at the GPU's bandwidth (module
    docstring)."""
    moved = count["bytes_accessed"]
    return {"flops": count["flops"], "bytes_accessed": moved,
            "fft_flops": count.get("fft_flops"), "fft_bytes": count.get("fft_bytes"),
            "traffic_s": moved / t.bandwidth if moved and t.bandwidth else None,
            "bytes_by_part": count["bytes_by_part"],
            **({"unknown_trips": count["unknown_trips"]} if count["unknown_trips"] else {}),
            **({"counts_note": count["note"]} if "note" in count else {})}


def _epochs(cfg: Config, spec, steps: list[dict], evals: list[dict]) -> dict[str, Any]:
    """An epoch's steps and evaluation batches on the release's splits, and each training
    path's epoch at the GPU's bandwidth (`epoch_traffic_s`, written into its step), beside
    S4's epoch."""
    per_epoch, eval_batches = epoch_batches(cfg, spec.release_sizes)
    ev = {e["conv"]: e["traffic_s"] for e in evals}
    for s in steps:
        s["epoch_traffic_s"] = (per_epoch * s["traffic_s"] + eval_batches * ev[s["conv"]]
                                if s["traffic_s"] and ev[s["conv"]] else None)
    return {"steps_per_epoch": per_epoch, "eval_batches": eval_batches,
            "epochs": cfg.train.epochs,
            "s4_epoch_time": EPOCH_TIME.get(cfg.task) if cfg.variant == "full" else None}


def report(r: dict[str, Any]) -> list[str]:
    """The plan's figures as lines of text."""
    lines = [
        f"plan: {r['task']}/{r['variant']}, {r['model']}, for {r['devices']} x {r['device']} "
        f"({r['target']}), compiled here by XLA's GPU compiler; nothing run or timed",
        f"  parameters      {r['params']:,}",
        f"  batch           {r['batch']} ({r['batch'] // r['devices']} per device, "
        f"grad_accum {r['grad_accum']}) at length {r['length']:,}",
        f"  limit           {size(r['memory_bytes'])} per device ({r['memory_from']} "
        f"{size(r['gpu_memory_bytes'])})" if r["memory_from"] != "train.memory_limit" else
        f"  limit           {size(r['memory_bytes'])} per device (train.memory_limit)",
    ]
    for i, s in enumerate(r["steps"]):
        fix = s["grad_accum_to_fit"] and f"train.grad_accum={s['grad_accum_to_fit']}"
        lines.append(f"  {'train step' if i == 0 else '':15} conv={s['conv']}, "
                     f"remat={show(s['remat'])}: {size(s['peak_bytes'])} planned{_traffic(s)}: "
                     f"{fit.verdict(s['fits'], fix, s['remat'])}")
    for i, e in enumerate(r["evals"]):
        fix = e["eval_batch_to_fit"] and f"train.eval_batch_size={e['eval_batch_to_fit']}"
        lines.append(f"  {'eval step' if i == 0 else '':15} conv={e['conv']}: "
                     f"{size(e['peak_bytes'])} planned at batch {r['eval_batch']}{_traffic(e)}: "
                     f"{fit.verdict(e['fits'], fix)}")
    lines += _at_bandwidth(r) + where_bytes_go(r["steps"][0])
    if r["remat"] == "auto":
        lines.append(f"  remat=auto      {_remat_auto(r['steps'])}")
    lines += [f"  planned with    {why['flags']} ({step}; under XLA's defaults: {why['error']})"
              for step, why in r.get("retried", {}).items()]
    return lines


def _traffic(s: dict) -> str:
    """', moves 12.3 GB (2.6 ms at the bandwidth)': a step's byte count, where there is one."""
    if not s.get("bytes_accessed"):
        return ""
    at = f" ({1e3 * s['traffic_s']:.2f} ms at the bandwidth)" if s.get("traffic_s") else ""
    return f", moves {s['bytes_accessed'] / 1e9:,.1f} GB{at}"


def _at_bandwidth(r: dict) -> list[str]:
    """Each training path's epoch at the GPU's bandwidth, beside S4's epoch; or why there is
    none."""
    steps = [s for s in r["steps"] if s.get("epoch_traffic_s")]
    if not steps:
        why = r["steps"][0].get("counts_note") or "the GPU's description gives no bandwidth"
        return [f"  epoch           no estimate: {why}"]
    paths = "; ".join(f"conv={s['conv']}, remat={show(s['remat'])}: "
                      f"{short_duration(s['epoch_traffic_s'])}" for s in steps)
    s4 = f"; S4 reports {r['s4_epoch_time']} per epoch" if r.get("s4_epoch_time") else ""
    return [f"  epoch           {r['steps_per_epoch']:,} steps and {r['eval_batches']:,} eval "
            f"batches move their bytes at {r['bandwidth'] / 1e12:.2f} TB/s in: {paths}{s4}",
            "                  (XLA's byte counts, as if nothing stayed in cache between "
            "fusions: the time the device's own step is measured against, not a timing)"]


def _remat_auto(steps: list[dict]) -> str:
    """What model.remat=auto will take on the GPU, per convolution path, from the plans alone."""
    out = []
    for conv in dict.fromkeys(s["conv"] for s in steps):
        fits = {s["remat"]: s["fits"] for s in steps if s["conv"] == conv}
        out.append(f"{conv}: " + ("both fit, so the run times both" if all(fits.values()) else
                                  "takes true, the one that fits" if fits[True] else
                                  "takes false, the one that fits" if fits[False] else
                                  "neither fits"))
    return "; ".join(out)
