"""S4D, the diagonal state space layer (Gu, Gupta, Goel, Ré, arXiv 2206.11893).

Pure functions first (initialisation, discretisation, kernel, convolution), then one Flax module.

Shapes: B batch, L length, H channels (d_model), N state size. A real SSM of state size N with a
diagonal complex A is kept as P = N/2 complex modes: the other N/2 are their complex conjugates,
whose contribution is folded in by taking 2·Re(·) of the kernel.

The kernel and the convolution always run in float32 / complex64, whatever the activations' dtype.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

INITS = ("lin", "inv")


def init_A(init: str, H: int, N: int) -> tuple[np.ndarray, np.ndarray]:
    """Initial diagonal A of the S4D paper, repeated for every channel.

    Args:
      init: 'lin' (S4D-Lin, A_n = -1/2 + iπn) or 'inv' (S4D-Inv, A_n = -1/2 + i(N/π)(N/(2n+1) - 1)).
      H: channels. N: state size (even); P = N/2 modes are returned.

    Returns:
      (A_real, A_imag), each float64 of shape (H, P). A_real is negative.
    """
    if N % 2:
        raise ValueError(f"state size N must be even (N/2 conjugate pairs), got {N}")
    n = np.arange(N // 2, dtype=np.float64)
    if init == "lin":
        imag = math.pi * n
    elif init == "inv":
        imag = (N / math.pi) * (N / (2 * n + 1) - 1)
    else:
        raise ValueError(f"unknown S4D init {init!r}; choose one of {INITS}")
    real = np.full_like(n, -0.5)
    return np.tile(real, (H, 1)), np.tile(imag, (H, 1))


def discretize_zoh(
    dt: jax.Array, A: jax.Array, B: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Zero-order-hold discretisation of x' = Ax + Bu with step dt.

    Args:
      dt: (H,) positive steps. A: (H, P) complex, Re < 0. B: (H, P) complex.

    Returns:
      (dtA, dB): (H, P) complex each; Ā = exp(dtA) and B̄ = (exp(dtA) - 1)/A · B.
    """
    dtA = dt[:, None] * A
    dB = (jnp.exp(dtA) - 1.0) / A * B
    return dtA, dB


def vandermonde_kernel(C: jax.Array, dB: jax.Array, dtA: jax.Array, L: int) -> jax.Array:
    """Convolution kernel K[c, h, l] = 2·Re Σ_p C[c,h,p] · B̄[h,p] · Ā[h,p]^l for l < L.

    Args:
      C: (K, H, P) complex, one row per kernel (K = 2 for a bidirectional layer).
      dB, dtA: (H, P) complex, from `discretize_zoh`.
      L: kernel length.

    Returns:
      (K, H, L) float32.
    """
    # Ā^l = exp(l · dtA): a Vandermonde matrix over the modes, (H, P, L).
    powers = jnp.exp(dtA[:, :, None] * jnp.arange(L, dtype=jnp.float32))
    return 2.0 * jnp.einsum("khp,hpl->khl", C * dB, powers).real


def fft_conv(u: jax.Array, k: jax.Array) -> jax.Array:
    """Causal (K = 1) or bidirectional (K = 2) convolution of u with kernel rows k, by FFT.

    The FFT has length 2L, so the circular convolution never wraps around. The causal row k[0]
    acts on positions s <= t; the second row, if any, acts on strictly later positions s > t:
        y[t] = Σ_{s<=t} k[0, t-s] u[s]  +  Σ_{s>t} k[1, s-t-1] u[s].

    Args:
      u: (B, L, H) float. k: (K, H, L) float, K in {1, 2}.

    Returns:
      (B, L, H) float32.
    """
    L = u.shape[1]
    causal = jnp.pad(k[0], ((0, 0), (0, L)))  # (H, 2L)
    if k.shape[0] == 2:
        # Index 2L - j of the circular kernel meets u[t + j]: put k[1, j-1] there.
        causal = causal + jnp.pad(k[1, :, ::-1], ((0, 0), (L, 0)))
    k_f = jnp.fft.rfft(causal, n=2 * L, axis=-1)  # (H, L+1)
    u_f = jnp.fft.rfft(u.astype(jnp.float32), n=2 * L, axis=1)  # (B, L+1, H)
    return jnp.fft.irfft(u_f * k_f.T, n=2 * L, axis=1)[:, :L]


def log_uniform_init(lo: float, hi: float):
    """Initialiser drawing log(x) for x log-uniform in [lo, hi]."""

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, math.log(lo), math.log(hi))

    return init


def complex_normal_init(key, shape, dtype=jnp.float32):
    """Complex standard normal stored as (..., 2) real: E|z|^2 = 1."""
    return jax.random.normal(key, (*shape, 2), dtype) * math.sqrt(0.5)


def as_complex(x: jax.Array) -> jax.Array:
    """(..., 2) real -> (...) complex64."""
    return jax.lax.complex(x[..., 0], x[..., 1])


class S4DKernel(nn.Module):
    """The SSM parameters of one layer and the (K, H, L) kernel they define.

    Parameters (names matter: the optimizer groups match them by pattern):
      log_dt (H,): log step, log-uniform in [dt_min, dt_max] at init.
      log_A_real (H, P): A's real part is -exp(log_A_real), so it stays negative.
      A_imag (H, P): A's imaginary part.
      B (H, P, 2), C (K, H, P, 2): complex, stored as real pairs; K = 2 if bidirectional.
    """

    d_state: int = 64
    a_init: str = "inv"
    dt_min: float = 1e-3
    dt_max: float = 1e-1
    bidirectional: bool = True

    @nn.compact
    def __call__(self, H: int, L: int) -> jax.Array:
        """Returns the (K, H, L) float32 convolution kernel."""
        A_re, A_im = init_A(self.a_init, H, self.d_state)
        log_dt = self.param("log_dt", log_uniform_init(self.dt_min, self.dt_max), (H,))
        log_A_real = self.param(
            "log_A_real", lambda _, s: jnp.asarray(np.log(-A_re), jnp.float32), A_re.shape
        )
        A_imag = self.param("A_imag", lambda _, s: jnp.asarray(A_im, jnp.float32), A_im.shape)
        B = self.param("B", lambda _, s: jnp.stack([jnp.ones(s), jnp.zeros(s)], -1), A_re.shape)
        C = self.param("C", complex_normal_init, (2 if self.bidirectional else 1, *A_re.shape))
        A = jax.lax.complex(-jnp.exp(log_A_real), A_imag)
        dtA, dB = discretize_zoh(jnp.exp(log_dt), A, as_complex(B))
        return vandermonde_kernel(as_complex(C), dB, dtA, L)


class S4D(nn.Module):
    """One S4D layer: SSM convolution + D skip -> GELU -> dropout -> Linear(H, 2H) -> GLU."""

    d_state: int = 64
    a_init: str = "inv"
    dt_min: float = 1e-3
    dt_max: float = 1e-1
    bidirectional: bool = True
    dropout: float = 0.0

    @nn.compact
    def __call__(self, u: jax.Array, mask: jax.Array, *, train: bool) -> jax.Array:
        """u: (B, L, H); mask: (B, L) bool, True on real tokens. Returns (B, L, H)."""
        _, L, H = u.shape
        # Padding must not leak into real positions through the convolution.
        u = jnp.where(mask[..., None], u, 0.0)
        k = S4DKernel(
            self.d_state, self.a_init, self.dt_min, self.dt_max, self.bidirectional, name="kernel"
        )(H, L)
        D = self.param("D", nn.initializers.normal(1.0), (H,))
        y = fft_conv(u, k) + u.astype(jnp.float32) * D
        y = nn.gelu(y.astype(u.dtype), approximate=False)
        y = nn.Dropout(self.dropout, broadcast_dims=(1,))(y, deterministic=not train)
        return nn.glu(nn.Dense(2 * H, name="out")(y), axis=-1)
