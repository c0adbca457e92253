"""The exact (erf) GELU, whose backward pass keeps only its input.

S4's layer applies the exact form, gelu(x) = x/2 · (1 + erf(x/√2)) (docs/fidelity.md, the
activation's row). JAX's own derivative of it saves intermediates of the forward pass for the
backward pass: with the S4D layer's (B, L, H) activations, XLA's GPU compiler kept a second
(B, H, L) array per layer for it (1 + erf(x/√2)) and spread the product with the output's
gradient over three fusions. Here the forward pass is JAX's own, and the backward pass
recomputes the derivative from x alone,

    gelu'(x) = (1 + erf(x/√2)) / 2 + x · φ(x),   φ(x) = exp(-x²/2) / √(2π),

one elementwise pass over x and the gradient, in float32 whatever x's dtype. Planned for one
H100 (FFT convolution, no remat), this cut the Path-X training step's bytes by 7% and its
planned memory by 10% (results/bench/plan-gpus.jsonl against plan-gpus-07fa094.jsonl).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp


@jax.custom_vjp
def gelu(x: jax.Array) -> jax.Array:
    """The exact GELU of x (any shape), in x's dtype: jax.nn.gelu(x, approximate=False)."""
    return jax.nn.gelu(x, approximate=False)


def _gelu_fwd(x):
    return gelu(x), x


def _gelu_bwd(x, g):
    x32 = x.astype(jnp.float32)
    slope = 0.5 * (1.0 + jax.lax.erf(x32 / math.sqrt(2.0))) + x32 * jnp.exp(
        -0.5 * x32 * x32) / math.sqrt(2.0 * math.pi)
    return ((g.astype(jnp.float32) * slope).astype(x.dtype),)


gelu.defvjp(_gelu_fwd, _gelu_bwd)
