"""S4D, the diagonal state space layer (Gu, Gupta, Goel, Ré, arXiv 2206.11893), and its variants.

Pure functions first (initialisation, parameter transforms, discretisation, kernel, convolution,
recurrence), then two Flax modules: S4DKernel (the SSM parameters) and S4D (the layer).

Shapes: B batch, L length, H channels (d_model), N state size, P = N/2 complex modes, K kernel
rows (2 if bidirectional), S the number of independent (A, B) copies (n_ssm). A real SSM of
state size N with a diagonal complex A is kept as P modes; the other P are their conjugates,
whose contribution is folded in by taking 2·Re(·).

Every kernel here has the form K[k, h, l] = 2·Re Σ_p C[k,h,p] · B̄[h,p] · Ā[h,p]^l, so each
discretisation is one (Ā, B̄) pair and the same layer can run as a convolution or a recurrence.
The kernel and the convolution always run in float32 / complex64.
"""

from __future__ import annotations

import dataclasses
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from models import choices
from models.activations import gelu
from models.choices import SSMOptions
from models.chunked import chunked_conv

A_INITS = choices.values(choices.AInit)
B_INITS = tuple(b for b in choices.values(choices.BInit) if b != "auto")  # as init_B takes them
DISCRETIZATIONS = choices.values(choices.Disc)
REAL_TRANSFORMS = choices.values(choices.RealTransform)
DT_TRANSFORMS = choices.values(choices.DtTransform)
A_REAL_MAX = -1e-4  # Re(A) is kept at or below this: ZOH divides by A, and decay must be real


def _check(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; choose one of {allowed}")


# ---------------------------------------------------------------------------------------------
# Initialisation (numpy, float64: computed once, outside jit).


def hippo_legs(N: int) -> tuple[np.ndarray, np.ndarray]:
    """HiPPO-LegS: A (N, N) and B (N,), with A[n,k] = -sqrt((2n+1)(2k+1)) below the diagonal,
    -(n+1) on it, 0 above; B[n] = sqrt(2n+1)."""
    q = np.sqrt(2 * np.arange(N) + 1.0)
    A = -np.tril(np.outer(q, q), -1) - np.diag(np.arange(N) + 1.0)
    return A, q.copy()


def legs_diagonal(N: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues of the normal part of HiPPO-LegS and its B in that eigenbasis (S4D-LegS).

    A + P Pᵀ with P[n] = sqrt(n + 1/2) equals -I/2 + M with M skew-symmetric, so its eigenvalues
    are -1/2 + iω. Returns the P = N/2 modes with ω > 0, as (Λ (P,) complex, Vᴴ B (P,) complex).
    """
    A, B = hippo_legs(N)
    p = np.sqrt(np.arange(N) + 0.5)
    M = A + np.outer(p, p) + 0.5 * np.eye(N)  # skew-symmetric
    # iM is Hermitian: iM v = μ v  <=>  M v = -iμ v, so ω = -μ.
    mu, V = np.linalg.eigh(1j * M)
    keep = np.argsort(mu)[: N // 2]  # the most negative μ: ω > 0
    return -0.5 - 1j * mu[keep], V[:, keep].conj().T @ B


def init_A(a_init: str, S: int, N: int, key: jax.Array | None = None, *,
           real_random: bool = False, imag_random: bool = False, real_scale: float = 1.0,
           imag_scale: float = 1.0) -> tuple:
    """Initial diagonal A, repeated for the S copies: (A_real, A_imag), (S, P) each; float64
    numpy, or float32 jax arrays where a part is drawn at random (needs key).

    With n = 0 .. P-1 (P = N/2) and Re(A) = -1/2 unless said:
    legs  S4D-LegS: eigenvalues of the normal part of HiPPO-LegS.
    inv   S4D-Inv:  Im = (N/π)(N/(2n+1) - 1).        inv2  Im = (N/π)(N/(n+1) - 1).
    lin   S4D-Lin:  Im = πn.                          quad  Im = (1/π)(2n+1)².
    real  S4D-Real: Re = -(n+1), Im = 0.
    rand  Im = exp(z), z standard normal per entry (Im > 0).
    random  Im = z, standard normal per entry: S4 v3.0.0's `diag-random`.
    The options of S4 v3.0.0's `dplr` (src/models/sequence/ss/dplr.py, lra-reference §1.4):
    real_random draws Re(A) = -U[0, 1); imag_random puts (N/2)·U[0, 1) for n inside the law;
    real_scale and imag_scale multiply the two parts. As there, 'real' keeps its own Re(A), and
    'legs', 'rand' and 'random' have no n to draw.
    """
    _check("S4D init", a_init, A_INITS)
    if N % 2:
        raise ValueError(f"state size N must be even (N/2 conjugate pairs), got {N}")
    if key is None and (a_init in ("rand", "random") or real_random or imag_random):
        raise ValueError(f"a_init={a_init!r} with random parts needs a PRNG key")
    P = N // 2
    real = np.full((S, P), 0.5)
    if real_random:  # kept in jnp: Flax may trace initialisers (eval_shape) for their shapes
        real = jax.random.uniform(jax.random.fold_in(key, 1), (S, P), jnp.float32)
    real = real_scale * real
    n = np.tile(np.arange(P, dtype=np.float64), (S, 1))
    if imag_random:
        n = P * jax.random.uniform(jax.random.fold_in(key, 2), (S, P), jnp.float32)
    if a_init == "legs":
        imag = np.tile(legs_diagonal(N)[0].imag, (S, 1))
    elif a_init == "inv":
        imag = (N / math.pi) * (N / (2 * n + 1) - 1)
    elif a_init == "inv2":
        imag = (N / math.pi) * (N / (n + 1) - 1)
    elif a_init == "quad":
        imag = (2 * n + 1) ** 2 / math.pi
    elif a_init == "lin":
        imag = math.pi * n
    elif a_init == "real":
        real, imag = np.tile(np.arange(P) + 1.0, (S, 1)), np.zeros((S, P))
    elif a_init == "random":
        imag = jax.random.normal(key, (S, P))
    else:
        imag = jnp.exp(jax.random.normal(key, (S, P)))
    return -real, imag_scale * imag


def init_B(b_init: str, S: int, N: int, key: jax.Array | None = None):
    """Initial B, (S, P) complex: all ones, HiPPO-LegS's B in its normal eigenbasis (complex128
    numpy), or 'random', complex normal with E|B|² = 1 (complex64, needs key)."""
    _check("B init", b_init, B_INITS)
    if b_init == "ones":
        return np.ones((S, N // 2), np.complex128)
    if b_init == "random":
        if key is None:
            raise ValueError("b_init='random' needs a PRNG key")
        return jax.random.normal(key, (S, N // 2), jnp.complex64)
    return np.tile(legs_diagonal(N)[1], (S, 1))


# ---------------------------------------------------------------------------------------------
# Parameter transforms: what is stored versus what the model uses.


def real_to_param(A_real: np.ndarray, transform: str) -> np.ndarray:
    """Stored parameter for Re(A) (clamped to <= A_REAL_MAX first); inverse of param_to_real."""
    _check("real-part transform", transform, REAL_TRANSFORMS)
    xp = jnp if isinstance(A_real, jax.Array) else np  # a random Re(A) is drawn in jax
    A_real = xp.minimum(A_real, A_REAL_MAX)
    if transform == "exp":
        return xp.log(-A_real)
    return -A_real + A_REAL_MAX if transform == "relu" else -A_real


def param_to_real(w: jax.Array, transform: str) -> jax.Array:
    """Re(A) from its stored parameter; always <= A_REAL_MAX.

    exp: -exp(w). relu: -relu(w) + A_REAL_MAX. none: -w, clamped at A_REAL_MAX.
    """
    _check("real-part transform", transform, REAL_TRANSFORMS)
    if transform == "exp":
        return -jnp.exp(w)
    if transform == "relu":
        return -jax.nn.relu(w) + A_REAL_MAX
    return jnp.minimum(-w, A_REAL_MAX)


def dt_to_param(dt: jax.Array, transform: str) -> jax.Array:
    """Stored parameter for the step: log(dt), or the inverse softplus of dt."""
    _check("dt transform", transform, DT_TRANSFORMS)
    return jnp.log(dt) if transform == "exp" else dt + jnp.log(-jnp.expm1(-dt))


def param_to_dt(w: jax.Array, transform: str) -> jax.Array:
    _check("dt transform", transform, DT_TRANSFORMS)
    return jnp.exp(w) if transform == "exp" else jax.nn.softplus(w)


# ---------------------------------------------------------------------------------------------
# Discretisation, kernel, convolution, recurrence.


def discretize(
    disc: str, dt: jax.Array, A: jax.Array, B: jax.Array, L: int
) -> tuple[jax.Array, jax.Array]:
    """(log Ā, B̄), each (H, P) complex, for x' = Ax + Bu sampled with step dt.

    zoh:      Ā = exp(dtA), B̄ = (exp(dtA) - 1)/A · B.
    bilinear: Ā = (1 + dtA/2)/(1 - dtA/2), B̄ = dt/(1 - dtA/2) · B.
    dss:      Ā = exp(dtA), B̄ = B / (A · Σ_{l<L} Ā^l) = ZOH's B̄ / (exp(dtA·L) - 1): DSS's
              softmax normalisation of the kernel over the length L (Gupta, Gu, Berant).
    Args: dt (H,), A (H, P) with Re(A) < 0, B (H, P), L the normalisation length (dss only).
    """
    _check("discretization", disc, DISCRETIZATIONS)
    dtA = dt[:, None] * A
    if disc == "zoh":
        return dtA, (jnp.exp(dtA) - 1.0) / A * B
    if disc == "bilinear":
        return jnp.log((1.0 + dtA / 2) / (1.0 - dtA / 2)), dt[:, None] / (1.0 - dtA / 2) * B
    return dtA, (jnp.exp(dtA) - 1.0) / (A * (jnp.exp(dtA * L) - 1.0)) * B


def vandermonde_kernel(CB: jax.Array, log_dA: jax.Array, L: int) -> jax.Array:
    """K[k, h, l] = 2·Re Σ_p CB[k,h,p] · exp(l · log_dA[h,p]) for l < L, directly.

    The reference form: it materialises (H, P, L) complex powers. The layer uses factored_kernel.
    Args: CB (K, H, P) complex, C·B̄; log_dA (H, P) complex. Returns (K, H, L) float32.
    """
    powers = jnp.exp(log_dA[:, :, None] * jnp.arange(L, dtype=jnp.float32))
    return 2.0 * jnp.einsum("khp,hpl->khl", CB, powers).real


def kernel_block(L: int) -> int:
    """The block length c of factored_kernel: the power of two nearest √L."""
    return 2 ** round(math.log2(math.sqrt(max(L, 1))))


def factored_kernel(
    CB: jax.Array, log_dA: jax.Array, L: int, block: int | None = None
) -> jax.Array:
    """vandermonde_kernel by a matrix product, never forming the (H, P, L) powers.

    Writing l = i·c + j (0 <= j < c), Ā^l = Ā^{ic} · Ā^j, so for each channel the kernel, laid out
    as an (L/c, c) grid, is the product of an (L/c, P) matrix (C·B̄·Ā^{ic}) and a (P, c) matrix
    (Ā^j): 2·H·P·(L/c + c) complex exponentials instead of H·P·L, a real matmul of 4·H·P·L flops,
    and O(H·P·√L) memory, which is what lets Path-X (L = 16,384) fit. Each power is still one exp
    of the exact exponent, so the error does not grow with l (measured: 8e-7 absolute at L = 1k to
    16k, kernel values O(1)).

    Args: CB (K, H, P) complex; log_dA (H, P) complex; L; block c (None: kernel_block(L)).
    Returns: (K, H, L) float32.
    """
    c = block or kernel_block(L)
    n = -(-L // c)
    inner = jnp.exp(log_dA[:, :, None] * jnp.arange(c, dtype=jnp.float32))  # (H, P, c)
    outer = jnp.exp(log_dA[:, None, :] * (c * jnp.arange(n, dtype=jnp.float32))[:, None])
    left = CB[:, :, None, :] * outer  # (K, H, n, P)
    # Re(a·b) = Re a · Re b − Im a · Im b: one real product over 2P.
    left = jnp.concatenate([left.real, -left.imag], -1)  # (K, H, n, 2P)
    right = jnp.concatenate([inner.real, inner.imag], 1)  # (H, 2P, c)
    k = 2.0 * jnp.einsum("khnq,hqc->khnc", left, right, precision="highest")
    return k.reshape(*CB.shape[:2], n * c)[..., :L]


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
    circular = jnp.pad(k[0], ((0, 0), (0, L)))  # (H, 2L)
    if k.shape[0] == 2:
        # Index 2L - j of the circular kernel meets u[t + j]: put k[1, j-1] there.
        circular = circular + jnp.pad(k[1, :, ::-1], ((0, 0), (L, 0)))
    return _circular_conv(u.astype(jnp.float32), circular)


@jax.custom_vjp
def _circular_conv(u: jax.Array, circular: jax.Array) -> jax.Array:
    """y[b, t, h] = Σ_s circular[h, (t - s) mod 2L] · u[b, s, h], for t < L (u zero-padded to 2L).

    u (B, L, H) float32; circular (H, 2L) float32. Returns (B, L, H) float32. A hand-written VJP:
    four length-2L FFTs of the (B, H) signals in all (two forward, two backward), with the input's
    spectrum kept from the forward pass; JAX's own transpose rules cost 10-30% more (measured).
    """
    return _circular_conv_fwd(u, circular)[0]


def _circular_conv_fwd(u, circular):
    k_f = jnp.fft.rfft(circular, axis=-1)  # (H, L+1)
    y, u_f = per_device(_convolved, (BATCH, None), (BATCH, BATCH))(u, k_f)
    return y, (u_f, k_f)


def _convolved(u, k_f):
    """(y (B, L, H), u's spectrum (B, H, L+1)) of u (B, L, H) and the kernel's spectrum."""
    L = u.shape[1]
    # FFTs along the last axis: on XLA:CPU 5x faster than along axis 1 (measured), which pays
    # for the transposes.
    u_f = jnp.fft.rfft(jnp.swapaxes(u, 1, 2), n=2 * L, axis=-1)  # (B, H, L+1)
    y = jnp.swapaxes(jnp.fft.irfft(u_f * k_f, n=2 * L, axis=-1)[..., :L], 1, 2)
    return y, u_f


def _circular_conv_bwd(res, g):
    u_f, k_f = res
    du, dc_f = per_device(_correlated, (BATCH, BATCH, None), (BATCH, SUM))(g, u_f, k_f)
    return du, jnp.fft.irfft(dc_f, n=2 * g.shape[1], axis=-1)  # (H, 2L)


def _correlated(g, u_f, k_f):
    """(du (B, L, H), the spectrum of dc summed over the batch (H, L+1)) for the output's
    gradient g (B, L, H). Correlations: du[s] = Σ_t g[t] c[t - s], dc[m] = Σ_b Σ_t g[t] u[t - m]."""
    L = g.shape[1]
    g_f = jnp.fft.rfft(jnp.swapaxes(g, 1, 2), n=2 * L, axis=-1)  # (B, H, L+1)
    du = jnp.swapaxes(jnp.fft.irfft(g_f * jnp.conj(k_f), n=2 * L, axis=-1)[..., :L], 1, 2)
    return du, jnp.sum(g_f * jnp.conj(u_f), axis=0)


# Data parallelism, and the FFT. XLA's SPMD partitioner gives an FFT no rule for a batch split
# over devices: its FFT handler splits only a complex FFT along its transformed axis, and leaves
# every other FFT to the default, which gathers the whole batch onto every device and transforms
# all of it there (openxla/xla xla/service/spmd/fft_handler.cc, HandleFft; seen in our programs'
# HLO as an all-gather before each FFT). So the FFTs, the layer's largest part, would not shrink
# with more devices, and each device would hold the whole batch's spectra. Under a mesh whose
# BATCH axis splits the batch (lra/distributed.py traces the steps under it), the batched FFTs
# run as shard_map on each device's own rows instead; the kernel's spectrum is the same on all.
BATCH = "data"  # the mesh axis the batch is split over
SUM = "sum"  # an output summed over the batch: each device's part, added over BATCH


def per_device(f, ins: tuple, outs: tuple):
    """f on each device's rows of the batch (shard_map over BATCH, ins and outs each BATCH, SUM
    or None: split on axis 0, summed over devices, the same on every device), under a mesh that
    splits the batch; f itself otherwise."""
    mesh = jax.sharding.get_abstract_mesh()
    if BATCH not in mesh.axis_names or mesh.shape[BATCH] == 1:
        return f

    def spec(kind):
        return jax.sharding.PartitionSpec(BATCH if kind == BATCH else None)

    def summed(*args):
        return tuple(jax.lax.psum(y, BATCH) if kind == SUM else y
                     for y, kind in zip(f(*args), outs, strict=True))

    return jax.shard_map(summed, mesh=mesh, in_specs=tuple(map(spec, ins)),
                         out_specs=tuple(map(spec, outs)))


_circular_conv.defvjp(_circular_conv_fwd, _circular_conv_bwd)


def ssm_step(
    state: jax.Array, u_t: jax.Array, dA: jax.Array, dB: jax.Array, C: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """One step of the recurrence x_t = Ā x_{t-1} + B̄ u_t, y_t = 2·Re(C x_t).

    Args: state (B, H, P) complex; u_t (B, H); dA, dB (H, P); C (H, P) complex.
    Returns: (y_t (B, H) float32, new state).
    """
    state = dA * state + dB * u_t[..., None].astype(jnp.float32)
    return 2.0 * jnp.einsum("hp,bhp->bh", C, state).real, state


def ssm_scan(u: jax.Array, log_dA: jax.Array, dB: jax.Array, C: jax.Array) -> jax.Array:
    """The recurrent form of fft_conv: runs ssm_step over time (a second kernel row, if present,
    runs backwards over strictly later positions).

    Args: u (B, L, H); log_dA, dB (H, P); C (K, H, P) complex. Returns (B, L, H) float32.
    """
    dA = jnp.exp(log_dA)
    state0 = jnp.zeros((u.shape[0], *dA.shape), jnp.complex64)

    def run(c, xs, reverse):
        def body(state, u_t):
            return ssm_step(state, u_t, dA, dB, c)[::-1]

        return jax.lax.scan(body, state0, xs, reverse=reverse)[1]

    u_t = jnp.moveaxis(u, 1, 0)  # (L, B, H)
    y = run(C[0], u_t, reverse=False)
    if C.shape[0] == 2:
        # Backward state after reading u[L-1] ... u[t+1]: shift the input by one step.
        later = jnp.concatenate([u_t[1:], jnp.zeros_like(u_t[:1])], axis=0)
        y = y + run(C[1], later, reverse=True)
    return jnp.moveaxis(y, 0, 1)


# ---------------------------------------------------------------------------------------------
# Initialisers and helpers for the modules.


def complex_normal_init(key, shape, dtype=jnp.float32):
    """Complex standard normal stored as (..., 2) real: E|z|^2 = 1."""
    return jax.random.normal(key, (*shape, 2), dtype) * math.sqrt(0.5)


def as_complex(x: jax.Array) -> jax.Array:
    """(..., 2) real -> (...) complex64."""
    return jax.lax.complex(x[..., 0], x[..., 1])


def as_pairs(z) -> jnp.ndarray:
    """(...) complex (numpy or jax) -> (..., 2) float32."""
    return jnp.stack([jnp.real(z), jnp.imag(z)], -1).astype(jnp.float32)


@dataclasses.dataclass(frozen=True)
class SSMConfig(SSMOptions):
    """The SSM options of an S4D layer (hashable, so it can be a Flax module attribute).

    The options a user sets are SSMOptions' (models/choices.py, each documented there); b_init
    'auto' is resolved here (HiPPO's B for LegS, ones otherwise), so b_init is 'ones' or 'hippo'.
    l_max: the length DSS normalises over (the task's maximum length), so that a sequence's
    output does not depend on how far its batch is padded (None: the input's length).
    """

    l_max: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "b_init", choices.resolve_b_init(self.b_init, self.a_init))
        _check("S4D init", self.a_init, A_INITS)
        _check("B init", self.b_init, B_INITS)
        _check("discretization", self.disc, DISCRETIZATIONS)
        _check("real-part transform", self.real_transform, REAL_TRANSFORMS)
        _check("dt transform", self.dt_transform, DT_TRANSFORMS)
        _check("mode", self.mode, choices.values(choices.Mode))
        _check("conv", self.conv, choices.values(choices.Conv))
        if self.d_state % 2:
            raise ValueError(f"state size N must be even (N/2 conjugate pairs), got {self.d_state}")
        if not 0 < self.dt_min <= self.dt_max:
            raise ValueError(f"need 0 < dt_min <= dt_max, got {self.dt_min}, {self.dt_max}")


class S4DKernel(nn.Module):
    """The SSM parameters of one layer and the discrete SSM (Ā, B̄, C) they define.

    Parameters (names matter: the optimizer groups match them by pattern):
      log_dt (H,): the step's stored parameter (log dt, or inverse softplus of dt).
      log_A_real (S, P): stored parameter of Re(A) under `real_transform`.
      A_imag (S, P): Im(A).
      B (S, P, 2): complex, stored as real pairs; frozen when b_trainable is False.
      C (K, H, P, 2): complex; K = 2 if bidirectional.
    Channel h uses the (A, B) copy h mod S, where S = n_ssm (None: one per channel).
    """

    ssm: SSMConfig

    @nn.compact
    def __call__(self, H: int, L: int) -> tuple[jax.Array, jax.Array, jax.Array]:
        """The discrete SSM for length L: (log Ā (H, P), B̄ (H, P), C (K, H, P)), complex."""
        cfg = self.ssm
        S = cfg.n_ssm or H
        if H % S:
            raise ValueError(f"n_ssm={S} must divide d_model={H}")
        P = cfg.d_state // 2

        def dt_init(key, shape):
            log_dt = jax.random.uniform(
                key, shape, jnp.float32, math.log(cfg.dt_min), math.log(cfg.dt_max)
            )
            return dt_to_param(jnp.exp(log_dt), cfg.dt_transform)

        def a_init(part):
            # Each part's random draws (if any) come from that part's own key.
            def init(key, shape):
                A_re, A_im = init_A(cfg.a_init, S, cfg.d_state, key,
                                    real_random=cfg.a_real_random, imag_random=cfg.a_imag_random,
                                    real_scale=cfg.a_real_scale, imag_scale=cfg.a_imag_scale)
                w = A_im if part == "imag" else real_to_param(A_re, cfg.real_transform)
                return jnp.asarray(w, jnp.float32)

            return init

        w_dt = self.param("log_dt", dt_init, (H,))
        w_re = self.param("log_A_real", a_init("real"), (S, P))
        A_im = self.param("A_imag", a_init("imag"), (S, P))
        B = self.param("B", lambda k, s: as_pairs(init_B(cfg.b_init, S, cfg.d_state, k)), (S, P))

        def c_init(key, shape):
            # Complex normal times each channel's initial B, as S4 v3.0.0 does in diag mode
            # (src/models/sequence/ss/kernel.py:975): C·B̄ then starts as a normal draw times B².
            # With B all ones (S4D-Inv, -Lin) this is the plain draw.
            C = as_complex(complex_normal_init(key, shape))
            return as_pairs(C * jnp.tile(as_complex(B), (H // S, 1)))

        C = self.param("C", c_init, (2 if cfg.bidirectional else 1, H, P))
        if not cfg.b_trainable:
            B = jax.lax.stop_gradient(B)
        A = jax.lax.complex(param_to_real(w_re, cfg.real_transform), A_im)
        A, B = jnp.tile(A, (H // S, 1)), jnp.tile(as_complex(B), (H // S, 1))
        dt = param_to_dt(w_dt, cfg.dt_transform)
        log_dA, dB = discretize(cfg.disc, dt, A, B, cfg.l_max or L)
        return log_dA, dB, as_complex(C)


def apply_ssm(
    cfg: SSMConfig, u: jax.Array, log_dA: jax.Array, dB: jax.Array, C: jax.Array, D: jax.Array
) -> jax.Array:
    """The SSM map plus the D skip, y = K * u + D·u, by the path cfg selects (all equal).

    Args: u (B, L, H); log_dA, dB (H, P) complex; C (K, H, P) complex; D (H,).
    Returns: (B, L, H) float32.
    """
    if cfg.mode == "recurrent":
        y = ssm_scan(u, log_dA, dB, C)
    elif cfg.conv == "chunked":
        y = chunked_conv(u, log_dA, dB, C, cfg.conv_chunk)
    else:
        # D·u is the kernel's tap at lag 0: folding it in there saves an elementwise pass and
        # its reduction in the backward pass (~30% of the layer's time on a CPU, measured).
        k = factored_kernel(C * dB, log_dA, u.shape[1])
        return fft_conv(u, k.at[0, :, 0].add(D))
    return y + u.astype(jnp.float32) * D


class S4D(nn.Module):
    """One S4D layer: SSM (convolution or recurrence) + D skip -> GELU -> dropout ->
    Linear(H, 2H) -> GLU (postact 'glu', S4's default), or Linear(H, H) (postact 'linear': S4's
    `postact: null`, the S4D ablation setting)."""

    ssm: SSMConfig = SSMConfig()
    dropout: float = 0.0
    postact: str = "glu"

    @nn.compact
    def __call__(self, u: jax.Array, mask: jax.Array, *, train: bool) -> jax.Array:
        """u: (B, L, H); mask: (B, L) bool, True on real tokens. Returns (B, L, H)."""
        _, L, H = u.shape
        # Padding must not leak into real positions through the convolution.
        u = jnp.where(mask[..., None], u, 0.0)
        log_dA, dB, C = S4DKernel(self.ssm, name="kernel")(H, L)
        D = self.param("D", nn.initializers.normal(1.0), (H,))
        y = apply_ssm(self.ssm, u, log_dA, dB, C, D)
        y = gelu(y.astype(u.dtype))
        y = nn.Dropout(self.dropout, broadcast_dims=(1,))(y, deterministic=not train)
        # On (B·L, H): XLA:CPU runs the backward of a 3-D dense ~2x slower (measured).
        _check("postact", self.postact, choices.values(choices.Postact))
        glu = self.postact == "glu"
        z = nn.Dense(2 * H if glu else H, dtype=u.dtype, name="out")(y.reshape(-1, H))
        return (nn.glu(z, axis=-1) if glu else z).reshape(u.shape)
