"""Timing a jitted program: compile it, run it once (the warm-up), then time runs of it.

The benchmarks (lra/bench.py), the device's ceilings (lra/roofline.py) and model.conv=auto's
choice (lra/choose.py) all time programs this way.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import jax


def compile_and_time(fn: Callable, *args, runs: int, give_up_s: float = float("inf"),
                     options: dict | None = None) -> tuple[Any, float, list[float]]:
    """(the compiled fn(*args), its compile seconds, the seconds of each timed run). Stops after
    the first timed run if that is over give_up_s (a program that cannot win). `options`:
    XLA's compile options (lra/xla.py)."""
    t0 = time.perf_counter()
    compiled = jax.jit(fn, compiler_options=options).lower(*args).compile()
    compile_s = time.perf_counter() - t0
    jax.block_until_ready(compiled(*args))
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        jax.block_until_ready(compiled(*args))
        times.append(time.perf_counter() - t)
        if times[0] > give_up_s:
            break
    return compiled, compile_s, times


def timed(fn: Callable, state, *args, steps: int) -> tuple[float, Any]:
    """(median seconds of `steps` calls of fn(state, *args) after one warm-up, the last output).
    A train step's output state is passed back in: it donates its input."""
    out = jax.block_until_ready(fn(state, *args))
    times = []
    for _ in range(steps):
        state = out[0] if isinstance(out, tuple) else state
        t = time.perf_counter()
        out = jax.block_until_ready(fn(state, *args))
        times.append(time.perf_counter() - t)
    return statistics.median(times), out
