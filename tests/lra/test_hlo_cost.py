"""XLA's counts with each loop's body weighted by its trip count (lra/hlo_cost.py), against the
same program written without the loop, and against XLA's own counts where there is no loop.
(The training step under train.grad_accum, a loop of micro-batches: tests/lra/test_dryrun.py.)"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest

from lra import hlo_cost, roofline

X = jnp.ones((128, 128))


def step(c):
    return jnp.tanh(c @ c)


def looped(n: int, inner: int = 0):
    """n steps (each after `inner` of another kind) under lax.scan; a loop inside a loop."""
    def body(c, _):
        if inner:
            c = jax.lax.scan(lambda d, _: (jnp.sin(d @ d), None), c, None, length=inner)[0]
        return step(c), None
    return lambda a: jax.lax.scan(body, a, None, length=n)[0]


def unrolled(n: int, inner: int = 0):
    def fn(a):
        for _ in range(n):
            for _ in range(inner):
                a = jnp.sin(a @ a)
            a = step(a)
        return a
    return fn


def compiled(fn):
    return jax.jit(fn).lower(X).compile()


def test_without_loops_the_counts_are_xlas():
    program = compiled(unrolled(3))
    ours, xla = hlo_cost.counts(program), program.cost_analysis()
    assert (ours["flops"], ours["bytes_accessed"]) == (xla["flops"], xla["bytes accessed"])
    assert ours["flops"] == 3 * 2 * 128**3 and ours["unknown_trips"] == []


@pytest.mark.parametrize("n, inner", [(10, 0), (7, 3)])
def test_a_loop_counts_as_its_unrolled_program(n, inner):
    loop, flat = compiled(looped(n, inner)), compiled(unrolled(n, inner))
    ours, theirs = hlo_cost.counts(loop), hlo_cost.counts(flat)
    # The loop also adds to its counter and moves its carry: a few more operations and bytes.
    assert theirs["flops"] == n * (inner + 1) * 2 * 128**3
    assert ours["flops"] == pytest.approx(theirs["flops"], rel=1e-5)
    assert theirs["bytes_accessed"] <= ours["bytes_accessed"] < 1.1 * theirs["bytes_accessed"]
    # XLA's own analysis counts the body once (why this module exists).
    assert loop.cost_analysis()["flops"] == pytest.approx(
        (2 if inner else 1) * 2 * 128**3, rel=1e-5)  # each body once


def test_the_ffts_part_is_counted_per_run_of_its_loop():
    """Each of n rounds transforms (8, 64) float32 rows padded to 128 points: an RFFT of f32[8,128]
    to c64[8,65], an IRFFT back, as the optimised HLO holds them."""
    u = jnp.ones((8, 64))

    def round_trip(v):
        return jnp.fft.irfft(jnp.fft.rfft(v, n=128) * 2, n=128)[:, :64]

    def loop(v):
        return jax.lax.scan(lambda c, _: (round_trip(c), None), v, None, length=5)[0]

    once = hlo_cost.counts(jax.jit(round_trip).lower(u).compile())
    rfft_bytes = 4 * 8 * 128 + 8 * 8 * 65
    assert once["fft_bytes"] == 2 * rfft_bytes  # the IRFFT moves the same arrays back
    assert once["fft_flops"] == 8 * 7 * (8 * 128 + 8 * 65)  # 8 log2(128) x each input's size
    looped_counts = hlo_cost.counts(jax.jit(loop).lower(u).compile())
    assert (looped_counts["fft_bytes"], looped_counts["fft_flops"]) == (
        5 * once["fft_bytes"], 5 * once["fft_flops"])


def test_a_jax_without_the_module_analysis_gives_no_counts_and_says_why(monkeypatch):
    """Where a JAX release does not expose the analysis (hlo_cost's internal imports), the
    counts are None with the reason, the FFTs still come from the HLO text, and the roofline
    falls back on XLA's own counts (each loop's body once)."""
    program = compiled(looped(10))
    monkeypatch.setattr(hlo_cost, "_analyse", None)
    out = hlo_cost.counts(program)
    assert (out["flops"], out["bytes_accessed"], out["note"]) == (None, None, hlo_cost.UNAVAILABLE)
    assert out["fft_flops"] == 0
    assert roofline.cost(program)["flops"] == program.cost_analysis()["flops"]


class Block(nn.Module):
    @nn.compact
    def __call__(self, x):
        return x + jnp.tanh(nn.Dense(x.shape[-1])(x))


class Model(nn.Module):
    @nn.compact
    def __call__(self, x):
        for i in range(3):
            x = Block(name=f"block_{i}")(x)
        return nn.Dense(1, name="out")(x).sum()


def test_the_bytes_by_part_name_the_modules_add_up_and_count_each_loop_run():
    """A model of three blocks: its gradient's bytes go to the blocks (as one part, block_*) and
    the head, forward and backward, and add up to XLA's count. Under a loop over 4 micro-batches,
    summing their gradients or stacking them (each step reads its part of the inputs and writes
    its part of the outputs in place), each part moves 4 times as much, and the parts still add
    up to XLA's count (with each loop's body weighted, `counts`)."""
    x = jnp.ones((64, 256))
    params = Model().init(jax.random.key(0), x)
    grad = jax.grad(lambda p, x: Model().apply(p, x))

    def summed(p, xs):  # (4, 64, 256): a gradient per micro-batch, summed
        return jax.lax.scan(lambda g, x: (jax.tree.map(jnp.add, g, grad(p, x)), None),
                            jax.tree.map(jnp.zeros_like, p), xs)[0]

    def stacked(p, xs):
        return jax.lax.scan(lambda c, x: (c, grad(p, x)), 0.0, xs)[1]

    def total(parts):
        return sum(sum(by.values()) for by in parts.values())

    once = jax.jit(grad).lower(params, x).compile()
    parts = hlo_cost.by_part(*hlo_cost.computations(once.as_text()))
    assert {"Model/block_*/Dense_0", "Model/block_*/Dense_0 backward", "Model/out backward",
            "Model/block_*"} <= set(parts)
    assert not [p for p in parts if "block_0" in p or "block_1" in p]
    # Three blocks' products read (64, 256) inputs and a (256, 256) kernel, write (64, 256).
    assert parts["Model/block_*/Dense_0"]["dot_general"] >= 3 * 4 * (2 * 64 * 256 + 256 * 256)
    assert total(parts) == pytest.approx(hlo_cost.counts(once)["bytes_accessed"], rel=0.01)
    for loop in (summed, stacked):
        program = jax.jit(loop).lower(params, jnp.ones((4, *x.shape))).compile()
        looped = hlo_cost.by_part(*hlo_cost.computations(program.as_text()))
        assert total(looped) == pytest.approx(hlo_cost.counts(program)["bytes_accessed"],
                                              rel=0.01)
        for name in ("Model/block_*/Dense_0", "Model/block_*/Dense_0 backward"):
            assert sum(looped[name].values()) == pytest.approx(4 * sum(parts[name].values()),
                                                               rel=0.05)
    largest = hlo_cost.largest(parts, n=2, ops=1)
    assert [r["part"] for r in largest[:2]] == list(parts)[:2] and largest[2]["part"] == "other"
    assert sum(r["bytes"] for r in largest) == pytest.approx(total(parts))
    assert all(len(r["ops"]) == 1 for r in largest[:2])


def test_a_part_is_the_modules_path_without_jaxs_names():
    assert hlo_cost.part("jit(train_step)/transpose(jvp(SequenceClassifier))/backbone/block_3/"
                         "S4D_0/jit(fft)/fft") == ("SequenceClassifier/backbone/block_*/S4D_0 "
                                                   "backward", "fft")
    # Recomputed blocks (nn.remat) under the loop of train.grad_accum, as the optimised HLO of
    # the ListOps step names them: the same part as without either.
    assert hlo_cost.part(
        "jit(train_step)/while/body/closed_call/transpose(jvp(SequenceClassifier))/backbone/"
        "transpose(jvp(jvp(SequenceClassifier)))/backbone/block_7.shared_forward_fn/jvp()/"
        "checkpoint/block_7.apply/block_7/S4D_0/mul"
    ) == ("SequenceClassifier/backbone/block_*/S4D_0 backward", "mul")
    assert hlo_cost.part("jit(train_step)/jvp()/reduce_sum") == ("(step)", "reduce_sum")
