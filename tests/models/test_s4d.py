"""The S4D kernel functions against independent NumPy/SciPy computations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from models import s4d


def test_init_A_matches_paper_formulas():
    N = 8
    re, im = s4d.init_A("lin", 3, N)
    assert re.shape == im.shape == (3, N // 2)
    np.testing.assert_array_equal(re, -0.5)
    np.testing.assert_allclose(im[1], [0, np.pi, 2 * np.pi, 3 * np.pi])
    _, im = s4d.init_A("inv", 1, N)
    # S4D-Inv: (N/π)(N/(2n+1) - 1) for n = 0..3.
    np.testing.assert_allclose(im[0], [N / np.pi * (N / k - 1) for k in (1, 3, 5, 7)])
    with pytest.raises(ValueError, match="even"):
        s4d.init_A("lin", 1, 5)
    with pytest.raises(ValueError, match="unknown S4D init"):
        s4d.init_A("nope", 1, 4)


def test_zoh_matches_matrix_exponential():
    rng = np.random.default_rng(0)
    A = -rng.uniform(0.1, 1, (2, 3)) + 1j * rng.normal(size=(2, 3)) * 5
    B = rng.normal(size=(2, 3)) + 1j * rng.normal(size=(2, 3))
    dt = np.array([0.01, 0.3])
    dtA, dB = s4d.discretize_zoh(jnp.asarray(dt), jnp.asarray(A), jnp.asarray(B))
    for h in range(2):
        for p in range(3):
            # exp([[A, B], [0, 0]] dt) = [[Ā, B̄], [0, 1]] for the exact ZOH solution.
            M = scipy.linalg.expm(np.array([[A[h, p], B[h, p]], [0, 0]]) * dt[h])
            np.testing.assert_allclose(np.exp(complex(dtA[h, p])), M[0, 0], rtol=1e-5)
            np.testing.assert_allclose(complex(dB[h, p]), M[0, 1], rtol=1e-4, atol=1e-6)


def naive_ssm(u, Abar, Bbar, C, D, bidirectional):
    """Step-by-step recurrence in complex128. u: (L, H); Abar, Bbar: (H, P); C: (K, H, P)."""
    L, H = u.shape
    y = D * u
    x = np.zeros(Abar.shape, np.complex128)
    for t in range(L):
        x = Abar * x + Bbar * u[t][:, None]
        y[t] += 2 * np.sum(C[0] * x, axis=-1).real
    if bidirectional:
        # Backward state after reading u[L-1] ... u[t+1]: contributes only strictly later input.
        x = np.zeros(Abar.shape, np.complex128)
        for t in range(L - 1, -1, -1):
            y[t] += 2 * np.sum(C[1] * x, axis=-1).real
            x = Abar * x + Bbar * u[t][:, None]
    return y


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("init", ["lin", "inv"])
def test_layer_convolution_equals_recurrence(init, bidirectional):
    L, H, N = 37, 3, 8
    layer = s4d.S4D(d_state=N, a_init=init, bidirectional=bidirectional)
    u = jax.random.normal(jax.random.key(1), (2, L, H))
    mask = jnp.ones((2, L), bool)
    params = layer.init(jax.random.key(0), u, mask, train=False)["params"]
    kernel = s4d.S4DKernel(d_state=N, a_init=init, bidirectional=bidirectional)
    k = kernel.apply({"params": params["kernel"]}, H, L)
    y = s4d.fft_conv(u, k) + u * params["D"]

    p = jax.tree.map(np.asarray, {**params["kernel"], "D": params["D"]})
    A = -np.exp(p["log_A_real"].astype(np.float64)) + 1j * p["A_imag"]
    dt = np.exp(p["log_dt"].astype(np.float64))[:, None]
    Abar = np.exp(dt * A)
    Bbar = (Abar - 1) / A * (p["B"][..., 0] + 1j * p["B"][..., 1])
    C = p["C"][..., 0] + 1j * p["C"][..., 1]
    for b in range(2):
        ref = naive_ssm(np.asarray(u[b], np.float64), Abar, Bbar, C, p["D"], bidirectional)
        np.testing.assert_allclose(np.asarray(y[b]), ref, rtol=2e-4, atol=2e-4)


def test_fft_conv_matches_direct_sum():
    rng = np.random.default_rng(0)
    u = rng.normal(size=(2, 16, 3))
    k = rng.normal(size=(2, 3, 16))
    y = np.asarray(s4d.fft_conv(jnp.asarray(u), jnp.asarray(k)))
    ref = np.zeros_like(u)
    for t in range(16):
        for s in range(16):
            ref[:, t] += (k[0, :, t - s] if s <= t else k[1, :, s - t - 1]) * u[:, s]
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4)
    causal = np.asarray(s4d.fft_conv(jnp.asarray(u), jnp.asarray(k[:1])))
    for h in range(3):
        np.testing.assert_allclose(
            causal[0, :, h], np.convolve(u[0, :, h], k[0, h])[:16], rtol=1e-4, atol=1e-4
        )


def test_parameters_keep_real_part_negative_and_dt_in_range():
    layer = s4d.S4D(d_state=16, dt_min=1e-3, dt_max=1e-1)
    u = jnp.ones((1, 8, 64))
    params = layer.init(jax.random.key(0), u, jnp.ones((1, 8), bool), train=False)["params"]
    params = params["kernel"]
    dt = np.exp(np.asarray(params["log_dt"]))
    assert params["log_dt"].shape == (64,)
    assert dt.min() >= 1e-3 * (1 - 1e-6) and dt.max() <= 1e-1 * (1 + 1e-6)
    # Log-uniform: the median of log dt sits near the middle of [log 1e-3, log 1e-1].
    assert abs(np.median(np.log10(dt)) + 2) < 0.3
    assert params["log_A_real"].shape == (64, 8)
    assert params["C"].shape == (2, 64, 8, 2)
    np.testing.assert_allclose(-np.exp(np.asarray(params["log_A_real"])), -0.5, rtol=1e-6)
