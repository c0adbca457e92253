"""The diagonal SSM convolution in chunks: mostly matrix products instead of FFTs.

Splits the length into chunks of T steps. Inside a chunk the convolution is a direct (T, T)
Toeplitz product; across chunks the SSM carries its state: each chunk's end state comes from a
(P, T) matrix product, a short recurrence over chunks accumulates them, and the previous state's
effect on a chunk's outputs is a (T, P) matrix product. On a CPU these products run near the
matmul peak, where the FFT runs at a fraction of it. Cost per step and channel: about
2(T + 2N) flops forward, against O(log L) for the FFT but at a far better rate.

Shapes as in models/s4d.py: u (B, L, H); log Ā, B̄ (H, P); C (K, H, P), K in {1, 2}.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _causal_chunks(
    u: jax.Array, log_dA: jax.Array, dB: jax.Array, C: jax.Array, shift: bool
) -> jax.Array:
    """y[t] = 2·Re Σ_{s<=t} C B̄ Ā^{t-s} u[s] on chunked input.

    With shift, the output at t is read before u[t] enters: y[t] = 2·Re Σ_{s<t} C B̄ Ā^{t-1-s} u[s]
    (the anti-causal row of a bidirectional layer, run on reversed time).
    Args: u (B, n, T, H) float32; log_dA, dB, C (H, P) complex. Returns (B, n, T, H) float32.
    """
    T = u.shape[2]
    powers = jnp.exp(log_dA[:, :, None] * jnp.arange(T + 1, dtype=jnp.float32))  # Ā^0..Ā^T
    # Inside a chunk: the kernel's first T taps as a lower-triangular Toeplitz matrix.
    taps = 2.0 * jnp.einsum("hp,hpl->hl", C * dB, powers[..., :T]).real  # (H, T)
    if shift:
        taps = jnp.pad(taps[:, :-1], ((0, 0), (1, 0)))
    lag = jnp.arange(T)[:, None] - jnp.arange(T)[None, :]  # (T, T): i - j
    toeplitz = jnp.where(lag >= 0, taps[:, jnp.clip(lag, 0)], 0.0)  # (H, T, T)
    y = jnp.einsum("hij,bcjh->bcih", toeplitz, u)

    # Each chunk's own contribution to the state at its end: Σ_j Ā^{T-1-j} B̄ u[j].
    to_end = powers[..., T - 1 :: -1][..., :T] * dB[..., None]  # (H, P, T) complex
    to_end = jnp.stack([to_end.real, to_end.imag], 1)  # (H, 2, P, T): one real matmul
    s = jnp.einsum("hzpj,bcjh->cbhzp", to_end, u)
    s = jax.lax.complex(s[..., 0, :], s[..., 1, :])  # (n, B, H, P)

    # State entering each chunk: S_c = Ā^T S_{c-1} + s_c, read before chunk c adds its own.
    decay = powers[..., T]

    def carry(state, s_c):
        return decay * state + s_c, state

    _, entering = jax.lax.scan(carry, jnp.zeros_like(s[0]), s)  # (n, B, H, P)

    # Effect of the entering state on step i of the chunk: 2·Re C Ā^{i+1} S (Ā^i with shift).
    read = C[:, None, :] * jnp.swapaxes(powers[..., 0:T] if shift else powers[..., 1:], 1, 2)
    read = jnp.concatenate([read.real, -read.imag], -1)  # (H, T, 2P): Re(F S) in one matmul
    state = jnp.concatenate([entering.real, entering.imag], -1)  # (n, B, H, 2P)
    return y + 2.0 * jnp.einsum("hiq,cbhq->bcih", read, state)


def chunked_conv(
    u: jax.Array, log_dA: jax.Array, dB: jax.Array, C: jax.Array, chunk: int = 64
) -> jax.Array:
    """Equals fft_conv(u, vandermonde_kernel(C · B̄, log Ā, L)), computed in chunks of `chunk`.

    Args: u (B, L, H); log_dA, dB (H, P) complex; C (K, H, P) complex, K in {1, 2}.
    Returns: (B, L, H) float32.
    """
    Bsz, L, H = u.shape
    n = -(-L // chunk)
    # Zeros appended at the end change no real position, in either direction.
    u = jnp.pad(u.astype(jnp.float32), ((0, 0), (0, n * chunk - L), (0, 0)))
    y = _causal_chunks(u.reshape(Bsz, n, chunk, H), log_dA, dB, C[0], shift=False)
    if C.shape[0] == 2:
        rev = u[:, ::-1].reshape(Bsz, n, chunk, H)
        back = _causal_chunks(rev, log_dA, dB, C[1], shift=True)
        y = y + back.reshape(Bsz, n * chunk, H)[:, ::-1].reshape(Bsz, n, chunk, H)
    return y.reshape(Bsz, n * chunk, H)[:, :L]
