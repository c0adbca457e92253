"""`python -m lra bench`: speed and memory, one JSON line per measurement.

layer  one S4D layer's SSM (kernel + convolution + D skip), forward + backward, jitted, at
       B=16, H=128, N=64, L in {1024, 4096, 16384}, for each convolution path. Causal, like the
       peers' reference layers (issue 3's comparison table).
model  a 4-layer H=128 backbone at L=1024, forward + backward.
step   one training step of each task's `full` config at a batch that fits a small machine.
pathx_step (with --pathx) one Path-X-sized training step: time, planned and resident memory.
Each reports the median of `runs` timed runs after one warm-up, the compile time, and XLA's
memory analysis of the compiled program (arguments + outputs + temporaries = peak bytes).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterator

import jax
import jax.numpy as jnp

from lra import records
from lra.configs import get_config
from models import s4d
from models.s4d import SSMConfig
from models.sequence import Backbone


def measure(fn: Callable, *args, runs: int = 5) -> dict:
    """Compile fn(*args), run it once, then time `runs` runs. Returns times and memory."""
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    compile_s = time.perf_counter() - t0
    mem = compiled.memory_analysis()
    jax.block_until_ready(compiled(*args))
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        jax.block_until_ready(compiled(*args))
        times.append(time.perf_counter() - t)
    peak = None
    if mem is not None:
        peak = (mem.argument_size_in_bytes + mem.output_size_in_bytes
                + mem.temp_size_in_bytes - mem.alias_size_in_bytes)
    return {"median_ms": 1e3 * statistics.median(times), "min_ms": 1e3 * min(times),
            "runs": runs, "compile_s": compile_s, "peak_bytes": peak}


def layer_fn(ssm: SSMConfig, H: int, L: int):
    """Loss of one layer's SSM and D skip; grad w.r.t. parameters and input."""
    kernel = s4d.S4DKernel(ssm)

    def loss(params, u):
        log_dA, dB, C = kernel.apply({"params": params["kernel"]}, H, L)
        return jnp.sum(jnp.square(s4d.apply_ssm(ssm, u, log_dA, dB, C, params["D"])))

    def init(key):
        return {"kernel": kernel.init(key, H, L)["params"], "D": jnp.ones((H,))}

    return jax.value_and_grad(loss, argnums=(0, 1)), init


def backbone_grad(model: Backbone, x: jax.Array, lengths: jax.Array, variables: dict):
    """(gradient function, its arguments) of a training-mode backbone forward + backward."""

    def loss(params, stats):
        out, _ = model.apply({"params": params, "batch_stats": stats}, x, lengths, train=True,
                             mutable=["batch_stats"])
        return jnp.sum(jnp.square(out))

    return jax.grad(loss), (variables["params"], variables.get("batch_stats", {}))


def bench_layer(lengths, runs, B=16, H=128, N=64) -> Iterator[dict]:
    for L in lengths:
        for conv in ("fft", "chunked"):
            ssm = SSMConfig(d_state=N, bidirectional=False, conv=conv)
            fn, init = layer_fn(ssm, H, L)
            u = jax.random.normal(jax.random.key(1), (B, L, H))
            yield {"bench": "layer", "conv": conv, "B": B, "H": H, "N": N, "L": L,
                   **measure(fn, init(jax.random.key(0)), u, runs=runs)}


def bench_model(runs, B=16, H=128, N=64, L=1024, layers=4) -> Iterator[dict]:
    for conv in ("fft", "chunked"):
        model = Backbone(vocab_size=None, d_model=H, n_layers=layers,
                         ssm=SSMConfig(d_state=N, conv=conv))
        x = jax.random.normal(jax.random.key(1), (B, L, 1))
        lengths = jnp.full((B,), L)
        variables = model.init(jax.random.key(0), x, lengths, train=False)
        fn, args = backbone_grad(model, x, lengths, variables)
        yield {"bench": "model", "conv": conv, "layers": layers, "B": B, "H": H, "N": N, "L": L,
               **measure(fn, *args, runs=runs)}


def bench_step(task: str, batch: int, runs: int) -> Iterator[dict]:
    """A training step (forward, backward, AdamW) of the task's full config at `batch`."""
    from lra.configs.common import task_adapter
    from lra.prepare import init_state
    from lra.steps import train_step

    cfg = get_config(task, "full")
    spec = task_adapter(task).SPEC
    L = spec.max_length
    shape = (batch, L) if spec.vocab_size else (batch, L, spec.in_dim)
    inputs = (jax.random.randint(jax.random.key(2), shape, 3, spec.vocab_size)
              if spec.vocab_size else jax.random.normal(jax.random.key(2), shape))
    b = {"inputs": inputs, "lengths": jnp.full((batch,), L, jnp.int32),
         "targets": jnp.zeros((batch,), jnp.int32), "weights": jnp.ones((batch,))}
    if spec.paired:
        b |= {"inputs2": inputs, "lengths2": b["lengths"]}
    state, _, _ = init_state(cfg, spec, b, total_steps=1000, key=jax.random.key(0))
    out = measure(train_step, state, b, jax.random.key(3), runs=runs)
    yield {"bench": "step", "task": task, "config": "full", "batch": batch, "L": L,
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
    variables = model.init(jax.random.key(0), x[:2], lengths[:2], train=False)
    fn, args = backbone_grad(model, x, lengths, variables)
    row = measure(fn, *args, runs=runs)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    yield {"bench": "pathx_step", "B": B, "L": L, "H": H, "layers": 6,
           **row, "max_rss_bytes": rss}


# Each task's full config at a batch that fits a 2-core, 24 GiB machine (examples/s scale with it).
STEP_BATCHES = (("listops", 8), ("text", 2), ("retrieval", 2), ("image", 2), ("pathfinder", 8),
                ("pathx", 1))


def run(quick: bool = False, pathx: bool = False, out=print) -> None:
    """Runs every benchmark; `quick` uses short lengths and one run (for tests)."""
    prov = records.provenance()
    header = {"bench": "env", "device": prov["device"], "versions": prov["versions"],
              "commit": prov["commit"], "dirty": prov["dirty"], "machine": prov["machine"]}
    out(json.dumps(header))
    runs = 1 if quick else 5
    lengths = (256,) if quick else (1024, 4096, 16384)
    rows = [
        *bench_layer(lengths, runs, B=2 if quick else 16),
        *bench_model(runs, B=2 if quick else 16, L=256 if quick else 1024,
                     layers=1 if quick else 4),
        *(row for task, batch in (STEP_BATCHES[:1] if quick else STEP_BATCHES)
          for row in bench_step(task, batch=2 if quick else batch, runs=1 if quick else 3)),
        *(bench_pathx_step() if pathx else ()),
    ]
    for row in rows:
        out(json.dumps(row))
