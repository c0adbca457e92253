"""The exact GELU with its hand-written backward pass, against JAX's and a float64 derivative."""

import math

import jax
import jax.numpy as jnp
import numpy as np

from models.activations import gelu


def _jax_gelu(x):
    return jax.nn.gelu(x, approximate=False)


def test_values_are_jax_exact_gelu_in_each_dtype():
    x = jnp.linspace(-12.0, 12.0, 4001)
    for dtype in (jnp.float32, jnp.bfloat16):
        np.testing.assert_array_equal(gelu(x.astype(dtype)), _jax_gelu(x.astype(dtype)))
        assert gelu(x.astype(dtype)).dtype == dtype


def test_gradient_is_the_derivative_from_the_input_alone():
    x = np.linspace(-12.0, 12.0, 4001)
    phi = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    exact = 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2))) + x * phi  # float64
    g = np.random.default_rng(0).normal(size=x.shape)
    _, vjp = jax.vjp(gelu, jnp.asarray(x, jnp.float32))
    (dx,) = vjp(jnp.asarray(g, jnp.float32))
    np.testing.assert_allclose(dx, g * exact, atol=2e-6, rtol=0)
    (jax_dx,) = jax.vjp(_jax_gelu, jnp.asarray(x, jnp.float32))[1](jnp.asarray(g, jnp.float32))
    np.testing.assert_allclose(dx, jax_dx, atol=1e-6, rtol=0)
    # bfloat16 activations: a bfloat16 gradient, the float32 derivative rounded once.
    xb = jnp.asarray(x, jnp.bfloat16)
    (db,) = jax.vjp(gelu, xb)[1](jnp.ones_like(xb))
    assert db.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(db, np.float32),
                               jax.grad(lambda v: gelu(v).sum())(xb.astype(jnp.float32)),
                               rtol=2 ** -8, atol=0)


def test_backward_pass_keeps_only_the_input():
    """The residuals the backward pass reads: x itself, where JAX's own rule keeps more."""
    x = jnp.linspace(-3.0, 3.0, 64).reshape(4, 16)
    leaves = jax.tree.leaves(jax.vjp(gelu, x)[1])
    assert len(leaves) == 1 and leaves[0].shape == x.shape
    np.testing.assert_array_equal(leaves[0], x)
    kept = [leaf for leaf in jax.tree.leaves(jax.vjp(_jax_gelu, x)[1]) if leaf.shape == x.shape]
    assert len(kept) > 1  # what this module saves: JAX's rule keeps intermediates beside x
