"""Timing a program: a warm-up, then the timed runs; one that cannot win stops after one."""

import jax.numpy as jnp

from lra.timing import compile_and_time


def test_runs_are_timed_after_a_warm_up_and_a_loser_stops_after_one():
    x = jnp.ones((64, 64))
    compiled, compile_s, times = compile_and_time(jnp.matmul, x, x, runs=3)
    assert compile_s > 0 and len(times) == 3 and all(t > 0 for t in times)
    assert float(compiled(x, x)[0, 0]) == 64.0  # the compiled program itself
    _, _, times = compile_and_time(jnp.matmul, x, x, runs=3, give_up_s=0.0)
    assert len(times) == 1
