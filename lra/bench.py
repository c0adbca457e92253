"""`python -m lra bench`: speed and memory, one JSON line per measurement.

layer  one S4D layer's SSM (kernel + convolution + D skip), forward + backward, jitted, at
       B=16, H=128, N=64, L in {1024, 4096, 16384}, for each convolution path. Causal, like the
       peers' reference layers it is compared with (README, Speed and memory).
model  a 4-layer H=128 backbone at L=1024, forward + backward.
step   one training step of each task's `full` config at a batch that fits a small machine.
pathx_step (with --pathx) one Path-X-sized training step: time, planned and resident memory.
limit  first, the device's ceilings: copy bandwidth, matrix-product and FFT rates (lra/roofline.py).
--device   an accelerator's set: the layer and the model in float32 and bfloat16, and each
           task's step at the batch size of its paper config.
--tune     instead of the above, the choices a device's defaults rest on: the training step of
           ListOps, Pathfinder and Path-X `full` under each convolution path and dtype, then
           under each of the platform's candidate XLA flags (train.xla_flags).
Each reports the median of `runs` timed runs after one warm-up, the compile time, XLA's memory
analysis of the compiled program (arguments + outputs + temporaries = peak bytes), and XLA's
operation and byte counts with their rates (`python -m lra bench --roofline FILE` sets them
beside the ceilings; `--tune-table FILE` sets a tune record's sets against the default). A
training step that fails (out of the device's memory, a flag this XLA lacks) is a row with
`failed` saying why, and the benchmarks go on.
"""

from __future__ import annotations

import functools
import itertools
import json
import statistics
from collections.abc import Callable, Iterator

import jax
import jax.numpy as jnp

from lra import choose, records, roofline, xla
from lra.configs import get_config
from lra.errors import ConfigError, first_line
from lra.fit import planned, synthetic_batch, with_remat
from lra.timing import compile_and_time
from models.s4d import SSMConfig
from models.sequence import Backbone


def measure(fn: Callable, *args, runs: int = 5, options: dict | None = None) -> dict:
    """Compile fn(*args) (with XLA's compile `options`), run it once, then time `runs` runs.
    Returns times and memory."""
    compiled, compile_s, times = compile_and_time(fn, *args, runs=runs, options=options)
    peak, _ = planned(compiled)
    counts = roofline.cost(compiled)
    return {"median_ms": 1e3 * statistics.median(times), "min_ms": 1e3 * min(times),
            "runs": runs, "compile_s": compile_s, "peak_bytes": peak, **counts,
            **roofline.rates(counts, statistics.median(times))}


def backbone_grad(model: Backbone, x: jax.Array, lengths: jax.Array, variables: dict):
    """(gradient function, its arguments) of a training-mode backbone forward + backward."""

    def loss(params, stats):
        out, _ = model.apply({"params": params, "batch_stats": stats}, x, lengths, train=True,
                             mutable=["batch_stats"])
        return jnp.sum(jnp.square(out))

    return jax.grad(loss), (variables["params"], variables.get("batch_stats", {}))


def bench_layer(lengths, runs, B=16, H=128, N=64, dtypes=("float32",)) -> Iterator[dict]:
    """The layer's SSM; in bfloat16 the input is bfloat16 (the kernel and FFT stay float32)."""
    for L in lengths:
        for conv in ("fft", "chunked"):
            for dtype in dtypes:
                ssm = SSMConfig(d_state=N, bidirectional=False, conv=conv)
                fn, init = choose.layer_fn(ssm, H, L)
                u = jax.random.normal(jax.random.key(1), (B, L, H)).astype(dtype)
                yield {"bench": "layer", "conv": conv, "dtype": dtype, "B": B, "H": H, "N": N,
                       "L": L, **measure(fn, init(jax.random.key(0)), u, runs=runs)}


def bench_model(runs, B=16, H=128, N=64, L=1024, layers=4,
                dtypes=("float32",)) -> Iterator[dict]:
    for conv in ("fft", "chunked"):
        for dtype in dtypes:
            model = Backbone(vocab_size=None, d_model=H, n_layers=layers,
                             ssm=SSMConfig(d_state=N, conv=conv), dtype=jnp.dtype(dtype))
            x = jax.random.normal(jax.random.key(1), (B, L, 1))
            lengths = jnp.full((B,), L)
            init = jax.jit(functools.partial(model.init, train=False))
            variables = init(jax.random.key(0), x, lengths)
            fn, args = backbone_grad(model, x, lengths, variables)
            yield {"bench": "model", "conv": conv, "dtype": dtype, "layers": layers, "B": B,
                   "H": H, "N": N, "L": L, **measure(fn, *args, runs=runs)}


def bench_step(task: str, batch: int | None, runs: int, variant: str = "full",
               overrides: tuple[str, ...] = ()) -> Iterator[dict]:
    """A training step (forward, backward, AdamW) of the task's config (`full`: the paper's) at
    `batch` (None: the config's own), with `section.key=value` overrides; model.conv=auto is
    resolved as a run resolves it. model.remat=auto is taken as false, a run's choice wherever
    the step fits (lra/fit.py); a step that does not fit fails, as a row saying why."""
    from lra.configs.common import task_adapter
    from lra.prepare import init_state
    from lra.steps import train_step

    spec = task_adapter(task).SPEC
    cfg = get_config(task, variant, list(overrides))
    batch = batch or cfg.train.batch_size
    cfg, _ = choose.resolve(cfg, spec, micro_batch=batch)
    cfg = with_remat(cfg, False) if cfg.model.remat == "auto" else cfg
    L = spec.max_length
    b = synthetic_batch(spec, batch, L, seed=2)
    small = synthetic_batch(spec, 1, min(L, 64))  # the parameters do not depend on the length
    state, _, _ = init_state(cfg, spec, small, total_steps=1000, key=jax.random.key(0), jit=True)
    out = measure(train_step, state, b, jax.random.key(3), runs=runs, options=xla.options(cfg))
    yield {"bench": "step", "task": task, "config": variant, "set": " ".join(overrides),
           "conv": cfg.model.conv, "dtype": cfg.model.dtype, "remat": cfg.model.remat,
           "xla_flags": cfg.train.xla_flags,
           "batch": batch, "L": L,
           "examples_per_s": batch / (out["median_ms"] / 1e3), **out}


def bench_pathx_step(runs: int = 1) -> Iterator[dict]:
    """Memory of one Path-X-sized training step: B=16, L=16384, H=256, N=64, 6 layers,
    bidirectional, pre-norm BatchNorm. Reports XLA's planned peak and the process's peak
    resident memory (minutes on a CPU)."""
    import resource

    B, L, H = 16, 16384, 256
    ssm = SSMConfig(d_state=64, dt_min=1e-4)
    model = Backbone(vocab_size=None, d_model=H, n_layers=6, ssm=ssm, prenorm=True)
    x = jax.random.normal(jax.random.key(1), (B, L, 1))
    lengths = jnp.full((B,), L)
    variables = jax.jit(functools.partial(model.init, train=False))(
        jax.random.key(0), x[:2, :64], lengths[:2] // 256)  # parameters do not depend on L
    fn, args = backbone_grad(model, x, lengths, variables)
    row = measure(fn, *args, runs=runs)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    yield {"bench": "pathx_step", "B": B, "L": L, "H": H, "layers": 6,
           **row, "max_rss_bytes": rss}


# Each task's full config at a batch that fits a 2-core, 24 GiB machine (examples/s scale with it).
STEP_BATCHES = (("listops", 8), ("text", 2), ("retrieval", 2), ("image", 2), ("pathfinder", 8),
                ("pathx", 1))


# The device's ceilings (lra/roofline.py): bytes of the copied array, n of the matrix product;
# each well beyond the caches (an H200's L2 holds 60 MB).
LIMIT_SIZES = {"quick": (8 * 2**20, 128), "cpu": (512 * 2**20, 1024),
               "device": (2 * 2**30, 8192)}
# --tune: the steps a device's defaults rest on (the shortest task, Pathfinder, the longest),
# under each convolution path and dtype.
TUNE_TASKS = ("listops", "pathfinder", "pathx")
TUNE_SETS = tuple((f"model.conv={conv}", f"model.dtype={dtype}") for conv in ("fft", "chunked")
                  for dtype in ("float32", "bfloat16"))
# Then XLA's code-generation flags of the platform (train.xla_flags, lra/xla.py), one at a time,
# under the task's faster float32 path. The GPU's: JAX's GPU performance tips (Triton for every
# matrix product it can do), NVIDIA JAX-Toolbox's images of 2023-24 (cuBLAS for every one), and
# no CUDA graphs. The CPU's: without XNNPACK, and 512-bit vectors (each within this CPU's noise:
# results/bench/tune-cpu-2core.jsonl).
TUNE_FLAGS = {"gpu": ("--xla_gpu_triton_gemm_any=true", "--xla_gpu_enable_triton_gemm=false",
                      "--xla_gpu_enable_command_buffer="),
              "cpu": ("--xla_cpu_use_xnnpack=false", "--xla_cpu_prefer_vector_width=512")}


def bench_tune(quick: bool, device: bool) -> Iterator[dict]:
    """Each TUNE_TASKS step under each TUNE_SETS, then under each of the platform's TUNE_FLAGS:
    at the paper's batch on a device, the small machine's batch otherwise (quick: ListOps' smoke
    config at batch 2, under the first and the last set, which differ in both keys, and the
    first flag)."""
    small = dict(STEP_BATCHES)
    flags = TUNE_FLAGS.get(jax.default_backend(), ())
    for task in TUNE_TASKS[:1] if quick else TUNE_TASKS:
        kw = {"batch": 2 if quick else None if device else small[task],
              "runs": 1 if quick else 3, "variant": "smoke" if quick else "full"}
        rows = []
        for sets in (TUNE_SETS[0], TUNE_SETS[-1]) if quick else TUNE_SETS:
            for row in tried_step(task, sets, **kw):
                rows.append(row)
                yield row
        f32 = [r for r in rows if r.get("dtype") == "float32" and "median_ms" in r]
        if not f32:
            continue
        conv = min(f32, key=lambda r: r["median_ms"])["conv"]
        for flag in flags[:1] if quick else flags:
            yield from tried_step(task, (f"model.conv={conv}", "model.dtype=float32",
                                         f"train.xla_flags={flag}"), **kw)


def tried_step(task: str, overrides: tuple[str, ...], **kw) -> Iterator[dict]:
    """bench_step's row, or where the set fails (a flag this XLA lacks, the device's memory
    exhausted) a row saying why: one set's failure does not end the tuning."""
    try:
        yield from bench_step(task, overrides=overrides, **kw)
    except (ConfigError, jax.errors.JaxRuntimeError) as e:
        yield {"bench": "step", "task": task, "config": kw.get("variant", "full"),
               "set": " ".join(overrides), "failed": first_line(e, 300)}


def bench_set(quick: bool, device: bool) -> Iterator[dict]:
    """The layer, the model and each task's step (module docstring)."""
    runs = 1 if quick else 5
    lengths = (256,) if quick else (1024, 4096, 16384)
    dtypes = ("float32", "bfloat16") if device else ("float32",)
    steps = [(task, None if device else batch) for task, batch in STEP_BATCHES]
    yield from bench_layer(lengths, runs, B=2 if quick else 16, dtypes=dtypes)
    yield from bench_model(runs, B=2 if quick else 16, L=256 if quick else 1024,
                           layers=1 if quick else 4, dtypes=dtypes)
    for task, batch in steps[:1] if quick else steps:
        yield from tried_step(task, (), batch=2 if quick else batch, runs=1 if quick else 3,
                              variant="smoke" if quick else "full")


def run(quick: bool = False, pathx: bool = False, device: bool = False, tune: bool = False,
        out=print) -> None:
    """Runs the benchmarks, writing each row as it is measured: the device's ceilings, then the
    standard set, or with `tune` the tuning set. `quick`: short lengths, one run, the smoke
    config's step (tests). `device`: an accelerator's sizes: float32 and bfloat16, and each
    task's step at its paper batch size."""
    prov = records.provenance()
    header = {"bench": "env", "device": prov["device"], "versions": prov["versions"],
              "commit": prov["commit"], "dirty": prov["dirty"], "machine": prov["machine"]}
    out(json.dumps(header))
    copy_bytes, n = LIMIT_SIZES["quick" if quick else "device" if device else "cpu"]
    rows = itertools.chain(
        roofline.limits(copy_bytes, n, runs=3 if quick else 5),
        bench_tune(quick, device) if tune else bench_set(quick, device),
        bench_pathx_step() if pathx else (),
    )
    for row in rows:  # one at a time: a device check cut short keeps what it measured
        out(json.dumps(row))
