"""Blocks, pooling and the classifier: shapes, pooling over true length, padding invariance."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models.s4d import SSMConfig
from models.sequence import Backbone, SequenceClassifier, pool

SMALL = dict(d_model=8, n_layers=2, ssm=SSMConfig(d_state=4))


def test_pool_reads_only_real_positions():
    x = jnp.arange(2 * 5 * 3, dtype=jnp.float32).reshape(2, 5, 3)
    lengths = jnp.array([2, 5])
    np.testing.assert_allclose(pool(x, lengths, "mean"), [x[0, :2].mean(0), x[1].mean(0)])
    np.testing.assert_allclose(pool(x, lengths, "last"), [x[0, 1], x[1, 4]])
    with pytest.raises(ValueError, match="unknown pooling"):
        pool(x, lengths, "max")


@pytest.mark.parametrize(
    "kw",
    [
        dict(vocab_size=11, norm="batch", prenorm=False, pool="mean"),
        dict(vocab_size=11, norm="layer", prenorm=True, pool="last"),
    ],
)
def test_extra_padding_does_not_change_logits(kw):
    """Logits and BatchNorm statistics of a batch are the same at L=9 and padded to L=24."""
    model = SequenceClassifier(3, Backbone(**{**SMALL, **kw}))
    key = jax.random.key(0)
    lengths = jnp.array([9, 4, 6])
    short = jax.random.randint(key, (3, 9), 3, 11)
    short = jnp.where(jnp.arange(9) < lengths[:, None], short, 0)
    # Padding filled with real-looking tokens, not zeros: only the lengths may hide it.
    filler = jax.random.randint(jax.random.key(5), (3, 15), 3, 11)
    long = jnp.concatenate([short, filler], axis=1)
    long = jnp.where(jnp.arange(24) < lengths[:, None], long, filler[:, :1])
    variables = model.init(key, short, lengths, train=False)

    for train in (False, True):
        apply = jax.jit(functools.partial(model.apply, train=train, mutable=["batch_stats"]))
        out_s = apply(variables, short, lengths)
        out_l = apply(variables, long, lengths)
        np.testing.assert_allclose(out_s[0], out_l[0], rtol=1e-4, atol=1e-5)
        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6), out_s[1], out_l[1]
        )


def test_real_valued_inputs_and_shapes():
    model = SequenceClassifier(4, Backbone(vocab_size=None, **SMALL))
    x = jnp.ones((2, 16, 1))
    lengths = jnp.array([16, 16])
    variables = model.init(jax.random.key(0), x, lengths, train=False)
    logits = model.apply(variables, x, lengths, train=False)
    assert logits.shape == (2, 4)
    backbone = variables["params"]["backbone"]
    assert backbone["encoder"]["kernel"].shape == (1, 8)
    assert set(variables) == {"params", "batch_stats"}
    assert [k for k in backbone if k.startswith("block_")] == ["block_0", "block_1"]


def test_dropout_mask_is_shared_over_the_sequence():
    model = SequenceClassifier(2, Backbone(vocab_size=5, dropout=0.5, **SMALL))
    x = jnp.ones((1, 12), jnp.int32)
    lengths = jnp.array([12])
    variables = model.init(jax.random.key(0), x, lengths, train=False)
    _, inter = model.apply(
        variables, x, lengths, train=True, rngs={"dropout": jax.random.key(1)},
        mutable=["batch_stats", "intermediates"],
        capture_intermediates=lambda mdl, _: type(mdl).__name__ == "Dropout",
    )
    outs = jax.tree.leaves(inter["intermediates"])
    assert outs
    for y in outs:
        zeros = np.asarray(y[0] == 0)  # (L, H): a dropped channel is dropped at every position
        np.testing.assert_array_equal(zeros, np.broadcast_to(zeros[:1], zeros.shape))


@pytest.mark.parametrize("disc", ["bilinear", "dss"])
def test_padding_invariance_holds_for_every_discretisation(disc):
    ssm = SSMConfig(d_state=4, disc=disc, bidirectional=False, l_max=64)
    model = SequenceClassifier(2, Backbone(vocab_size=5, d_model=8, n_layers=1, ssm=ssm))
    x = jax.random.randint(jax.random.key(0), (2, 10), 1, 5)
    lengths = jnp.array([10, 7])
    variables = model.init(jax.random.key(1), x, lengths, train=False)
    long = jnp.pad(x, ((0, 0), (0, 22)), constant_values=3)
    apply = jax.jit(functools.partial(model.apply, train=False))
    np.testing.assert_allclose(apply(variables, x, lengths), apply(variables, long, lengths),
                               rtol=1e-4, atol=1e-5)


def test_paired_head_encodes_both_documents_with_one_backbone():
    model = SequenceClassifier(2, Backbone(vocab_size=9, **SMALL), paired=True)
    key1, key2 = jax.random.split(jax.random.key(0))
    a, la = jax.random.randint(key1, (3, 12), 1, 9), jnp.array([12, 5, 9])
    b, lb = jax.random.randint(key2, (3, 20), 1, 9), jnp.array([20, 3, 16])
    variables = model.init(jax.random.key(1), a, la, train=False, inputs2=b, lengths2=lb)
    logits = jax.jit(functools.partial(model.apply, train=False))(variables, a, la, inputs2=b,
                                                                   lengths2=lb)
    assert logits.shape == (3, 2)
    # By hand: the same encoder on each document, then MLP([u, v, u-v, u*v]).
    backbone = Backbone(vocab_size=9, **SMALL)
    inner = {"params": variables["params"]["backbone"],
             "batch_stats": variables["batch_stats"]["backbone"]}
    encode = jax.jit(functools.partial(backbone.apply, train=False))
    u = encode(inner, a, la)
    v = encode(inner, b, lb)
    p = variables["params"]
    h = jnp.concatenate([u, v, u - v, u * v], -1) @ p["head_hidden"]["kernel"]
    h = jax.nn.gelu(h + p["head_hidden"]["bias"], approximate=False)
    ref = h @ p["decoder"]["kernel"] + p["decoder"]["bias"]
    np.testing.assert_allclose(logits, ref, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="needs inputs2"):
        model.apply(variables, a, la, train=False)


def test_bfloat16_activations_match_float32():
    """Same float32 parameters, bf16 activations: features and logits within 1% (relative norm;
    measured 0.2-0.3%), and not identical, so bf16 really ran."""
    kw = dict(vocab_size=11, d_model=16, n_layers=2, ssm=SSMConfig(d_state=8))
    x = jax.random.randint(jax.random.key(0), (4, 64), 1, 11)
    lengths = jnp.array([64, 50, 33, 8])
    for make in (Backbone, lambda **k: SequenceClassifier(4, Backbone(**k))):
        f32, bf16 = make(**kw), make(**kw, dtype=jnp.bfloat16)
        variables = f32.init(jax.random.key(1), x, lengths, train=False)
        assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(
            bf16.init(jax.random.key(1), x, lengths, train=False)))
        ref = f32.apply(variables, x, lengths, train=False)
        out = bf16.apply(variables, x, lengths, train=False)
        assert out.dtype == jnp.float32
        rel = float(jnp.linalg.norm(out - ref) / jnp.linalg.norm(ref))
        assert 1e-5 < rel < 0.01, rel


def test_remat_gives_the_same_values_and_gradients():
    """Recomputed blocks draw the same dropout masks and update BatchNorm's statistics the same
    way (the forward pass runs once, in the block's own scope)."""
    kw = dict(vocab_size=7, d_model=8, n_layers=2, ssm=SSMConfig(d_state=4), dropout=0.2,
              prenorm=True)
    x = jax.random.randint(jax.random.key(0), (2, 16), 1, 7)
    lengths = jnp.array([16, 9])
    plain = SequenceClassifier(3, Backbone(**kw))
    remat = SequenceClassifier(3, Backbone(**kw, remat=True))
    variables = plain.init(jax.random.key(1), x, lengths, train=False)

    def loss(model):
        def f(params):
            out, stats = model.apply({**variables, "params": params}, x, lengths, train=True,
                                     mutable=["batch_stats"], rngs={"dropout": jax.random.key(2)})
            return jnp.sum(out**2), stats
        return jax.jit(jax.value_and_grad(f, has_aux=True))(variables["params"])

    ((a, stats_a), ga), ((b, stats_b), gb) = loss(plain), loss(remat)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    jax.tree.map(lambda u, v: np.testing.assert_allclose(u, v, rtol=1e-6), stats_a, stats_b)
    jax.tree.map(lambda u, v: np.testing.assert_allclose(u, v, rtol=1e-4, atol=1e-6), ga, gb)


def test_remat_keeps_one_input_per_block():
    """XLA's planned memory of a training gradient: each block adds about 13 (B, L, H) tensors
    without remat and about one with it (nn.remat alone added about 12 here: XLA ran the
    recomputations during the forward pass, models/sequence.py remat_block)."""
    B, L, H = 4, 512, 32
    x = jax.random.randint(jax.random.key(0), (B, L), 1, 7)
    lengths = jnp.full((B,), L)

    def planned(n_layers, remat):  # in (B, L, H) float32 tensors
        model = SequenceClassifier(3, Backbone(vocab_size=7, d_model=H, n_layers=n_layers,
                                               ssm=SSMConfig(d_state=8), remat=remat))
        variables = model.init(jax.random.key(1), x, lengths, train=False)

        def f(params):
            out, _ = model.apply({**variables, "params": params}, x, lengths, train=True,
                                 mutable=["batch_stats"])
            return jnp.sum(out**2)
        compiled = jax.jit(jax.grad(f)).lower(variables["params"]).compile()
        return compiled.memory_analysis().temp_size_in_bytes / (B * L * H * 4)

    per_block = (planned(3, True) - planned(1, True)) / 2
    assert 0.5 < per_block < 2.5, per_block
    assert planned(3, False) > 2 * planned(3, True)


def test_s4_padding_shows_the_batch_padding_but_not_our_buckets():
    """padding='s4' (state-spaces/s4 v3.0.0): positions up to the batch's longest sequence are
    seen by the layers and BatchNorm, as <pad> tokens; padding past it changes nothing."""
    model = SequenceClassifier(3, Backbone(**{**SMALL, "vocab_size": 11, "norm": "batch",
                                              "padding": "s4"}))
    masked = SequenceClassifier(3, Backbone(**{**SMALL, "vocab_size": 11, "norm": "batch"}))
    lengths = jnp.array([9, 4, 6])
    tokens = jax.random.randint(jax.random.key(0), (3, 9), 3, 11)
    short = jnp.where(jnp.arange(9) < lengths[:, None], tokens, 0)  # <pad> = 0 up to 9
    long = jnp.pad(short, ((0, 0), (0, 15)), constant_values=7)  # a bucket: not S4's padding
    variables = model.init(jax.random.key(1), short, lengths, train=False)
    for train in (False, True):
        apply = jax.jit(functools.partial(model.apply, train=train, mutable=["batch_stats"]))
        out_s, out_l = apply(variables, short, lengths), apply(variables, long, lengths)
        np.testing.assert_allclose(out_s[0], out_l[0], rtol=1e-4, atol=1e-5)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
                     out_s[1], out_l[1])
    # The 4-token sequence sees five <pad> positions: its logits depend on its batch-mates,
    # unlike the masked model's, and equal the masked model's when it is counted as length 9.
    logits = model.apply(variables, short, lengths, train=False)
    alone = model.apply(variables, short[1:2, :4], lengths[1:2], train=False)
    assert not np.allclose(logits[1], alone[0], atol=1e-4)
    full = masked.apply(variables, short, jnp.array([9, 9, 9]), train=False)
    np.testing.assert_allclose(logits[0], full[0], rtol=1e-5, atol=1e-6)  # length 9 either way
    same = masked.apply(variables, short, lengths, train=False)
    np.testing.assert_allclose(same[1], masked.apply(variables, short[1:2, :4], lengths[1:2],
                                                     train=False)[0], rtol=1e-4, atol=1e-5)
