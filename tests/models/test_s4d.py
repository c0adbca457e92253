"""The S4D family against independent NumPy/SciPy computations."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from models import s4d
from models.s4d import SSMConfig


def test_init_A_matches_paper_formulas():
    N = 8
    re, im = s4d.init_A("lin", 3, N)
    assert re.shape == im.shape == (3, N // 2)
    np.testing.assert_array_equal(re, -0.5)
    np.testing.assert_allclose(im[1], [0, np.pi, 2 * np.pi, 3 * np.pi])
    _, im = s4d.init_A("inv", 1, N)
    np.testing.assert_allclose(im[0], [N / np.pi * (N / k - 1) for k in (1, 3, 5, 7)])
    re, im = s4d.init_A("real", 2, N)
    np.testing.assert_array_equal(re, [[-1, -2, -3, -4]] * 2)
    np.testing.assert_array_equal(im, 0)
    re, im = s4d.init_A("rand", 2, N, jax.random.key(0))
    assert (re == -0.5).all() and (im > 0).all() and not np.allclose(im[0], im[1])
    np.testing.assert_array_equal(im, s4d.init_A("rand", 2, N, jax.random.key(0))[1])
    with pytest.raises(ValueError, match="even"):
        s4d.init_A("lin", 1, 5)
    with pytest.raises(ValueError, match="unknown S4D init"):
        s4d.init_A("nope", 1, 4)


def test_init_A_laws_and_options_of_s4_v3():
    """The further laws and options of S4 v3.0.0's dplr (lra-reference §1.4), from the formulas."""
    N, P = 16, 8
    k = np.arange(P, dtype=np.float64)
    _, im = s4d.init_A("inv2", 1, N)
    np.testing.assert_allclose(im[0], [N / np.pi * (N / (j + 1) - 1) for j in k])
    _, im = s4d.init_A("quad", 1, N)
    np.testing.assert_allclose(im[0], [(1 + 2 * j) ** 2 / np.pi for j in k])
    re, im = s4d.init_A("lin", 2, N, real_scale=3.0, imag_scale=0.5)
    np.testing.assert_allclose(re, -1.5)
    np.testing.assert_allclose(im[1], 0.5 * np.pi * k)
    re, _ = s4d.init_A("real", 1, N, real_scale=3.0)  # as in v3.0.0, 'real' keeps its Re(A)
    np.testing.assert_array_equal(re[0], -(k + 1))
    key = jax.random.key(3)
    re, im = s4d.init_A("inv", 4, N, key, real_random=True, imag_random=True)
    re, im = np.asarray(re, np.float64), np.asarray(im, np.float64)
    assert ((re <= 0) & (re > -1)).all() and len(np.unique(re)) == 4 * P
    # Invert the law: the n behind each Im(A) lies in [0, N/2), and they differ entry by entry.
    n = (N / (im * np.pi / N + 1) - 1) / 2
    assert ((n >= -1e-4) & (n < P)).all() and len(np.unique(n.round(5))) == 4 * P
    again = s4d.init_A("inv", 4, N, key, real_random=True, imag_random=True)
    np.testing.assert_array_equal(re, np.asarray(again[0], np.float64))
    lam = s4d.legs_diagonal(N)[0]
    re, im = s4d.init_A("legs", 1, N, key, real_random=True)  # Im stays LegS's
    np.testing.assert_allclose(np.asarray(im)[0], lam.imag)
    with pytest.raises(ValueError, match="needs a PRNG key"):
        s4d.init_A("lin", 1, N, imag_random=True)
    re, im = s4d.init_A("random", 64, 64, key)  # diag-random: Im standard normal, any sign
    im = np.asarray(im, np.float64)
    assert abs(im.mean()) < 0.05 and abs(im.std() - 1) < 0.05 and (im < 0).any()
    np.testing.assert_array_equal(re, -0.5)
    B = np.asarray(s4d.init_B("random", 64, 64, jax.random.key(0)))
    assert B.dtype == np.complex64 and B.shape == (64, 32)
    np.testing.assert_allclose(np.mean(np.abs(B) ** 2), 1.0, atol=0.08)  # E|B|² = 1
    assert abs(np.mean(B.real)) < 0.05 and abs(np.mean(B.imag)) < 0.05


def test_the_kernel_initialises_with_every_option():
    cfg = SSMConfig(d_state=8, a_init="quad", b_init="random", a_real_random=True,
                    a_imag_random=True, a_real_scale=2.0, n_ssm=2)
    params = s4d.S4DKernel(cfg).init(jax.random.key(0), 4, 10)["params"]
    re = s4d.param_to_real(params["log_A_real"], "exp")
    assert ((re <= 0) & (re > -2)).all() and len(np.unique(np.asarray(re))) == 8
    assert not np.allclose(params["B"][..., 1], 0)  # a complex B, not ones


def test_legs_diagonal_is_the_spectrum_of_hippo_normal_part():
    N = 16
    A, B = s4d.hippo_legs(N)
    # The LegS matrix of the HiPPO paper, checked entry by entry on a corner.
    np.testing.assert_allclose(A[:3, :3], [[-1, 0, 0], [-np.sqrt(3), -2, 0],
                                           [-np.sqrt(5), -np.sqrt(15), -3]])
    p = np.sqrt(np.arange(N) + 0.5)
    ref = np.linalg.eigvals(A + np.outer(p, p))  # general (non-Hermitian) eigensolver
    ref = ref[ref.imag > 0]
    lam, B_diag = s4d.legs_diagonal(N)
    by_imag = lambda z: z[np.argsort(z.imag)]  # noqa: E731
    np.testing.assert_allclose(by_imag(lam), by_imag(ref), rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(lam.real, -0.5, atol=1e-10)
    # The eigenbasis is unitary and B is real: the kept half carries half of |B|^2 = N^2.
    np.testing.assert_allclose(2 * np.sum(np.abs(B_diag) ** 2), np.sum(B**2), rtol=1e-10)
    re, im = s4d.init_A("legs", 1, N)
    np.testing.assert_allclose(re[0] + 1j * im[0], lam)
    np.testing.assert_allclose(s4d.init_B("hippo", 2, N)[1], B_diag)


@pytest.mark.parametrize("transform", s4d.REAL_TRANSFORMS)
def test_real_transforms_round_trip_and_stay_negative(transform):
    A_re = np.array([-0.5, -3.0, -1e-4, 0.0, 2.0])
    w = s4d.real_to_param(A_re, transform)
    np.testing.assert_allclose(
        s4d.param_to_real(jnp.asarray(w), transform), np.minimum(A_re, s4d.A_REAL_MAX), rtol=1e-6
    )
    anything = jnp.linspace(-5, 5, 11)
    assert (s4d.param_to_real(anything, transform) <= s4d.A_REAL_MAX * (1 - 1e-6)).all()


@pytest.mark.parametrize("transform", s4d.DT_TRANSFORMS)
def test_dt_transforms_round_trip(transform):
    dt = jnp.array([1e-4, 1e-3, 0.1, 1.0])
    back = s4d.param_to_dt(s4d.dt_to_param(dt, transform), transform)
    np.testing.assert_allclose(back, dt, rtol=1e-4)


def test_zoh_matches_matrix_exponential():
    rng = np.random.default_rng(0)
    A = -rng.uniform(0.1, 1, (2, 3)) + 1j * rng.normal(size=(2, 3)) * 5
    B = rng.normal(size=(2, 3)) + 1j * rng.normal(size=(2, 3))
    dt = np.array([0.01, 0.3])
    log_dA, dB = s4d.discretize("zoh", jnp.asarray(dt), jnp.asarray(A), jnp.asarray(B), 10)
    for h in range(2):
        for p in range(3):
            # exp([[A, B], [0, 0]] dt) = [[Ā, B̄], [0, 1]] for the exact ZOH solution.
            M = scipy.linalg.expm(np.array([[A[h, p], B[h, p]], [0, 0]]) * dt[h])
            np.testing.assert_allclose(np.exp(complex(log_dA[h, p])), M[0, 0], rtol=1e-5)
            np.testing.assert_allclose(complex(dB[h, p]), M[0, 1], rtol=1e-4, atol=1e-6)


def test_bilinear_agrees_with_zoh_to_second_order_and_dss_is_normalised():
    A = jnp.array([[-0.5 + 3j, -2.0 + 0j]])
    B = jnp.array([[1.0 + 0j, 0.5 - 1j]])
    dt = jnp.array([1e-3])
    zA, zB = s4d.discretize("zoh", dt, A, B, 50)
    bA, bB = s4d.discretize("bilinear", dt, A, B, 50)
    np.testing.assert_allclose(np.exp(bA), np.exp(zA), rtol=1e-7)  # O((dtA)^3)
    np.testing.assert_allclose(bB, zB, rtol=1e-5)  # O((dtA)^2)
    dt = jnp.array([0.2])
    dA_log, dB = s4d.discretize("dss", dt, A, B, 50)
    powers = np.exp(np.asarray(dA_log, np.complex128)[..., None] * np.arange(50)).sum(-1)
    # Σ_l B̄ Ā^l = B/A: the kernel's modes are a softmax over the length times B/A.
    np.testing.assert_allclose(np.asarray(dB) * powers, np.asarray(B / A), rtol=1e-4)


def naive_ssm(u, disc, dt, A, B, C, D, bidirectional, L_norm):
    """Step-by-step recurrence in complex128 from each discretisation's definition.

    u: (L, H); dt: (H,); A, B: (H, P); C: (K, H, P); D: (H,).
    """
    dtA = dt[:, None] * A
    if disc == "bilinear":
        # Trapezoid rule: (1 - dtA/2) x_t = (1 + dtA/2) x_{t-1} + dt B u_t, solved per step.
        def step(x, u_t):
            return ((1 + dtA / 2) * x + dt[:, None] * B * u_t[:, None]) / (1 - dtA / 2)
    else:
        Bbar = np.array([[scipy.linalg.expm(np.array([[a, b], [0, 0]]) * d)[0, 1]
                          for a, b in zip(ra, rb, strict=True)]
                         for ra, rb, d in zip(A, B, dt, strict=True)])
        if disc == "dss":
            Bbar = Bbar / (np.exp(dtA * L_norm) - 1)

        def step(x, u_t):
            return np.exp(dtA) * x + Bbar * u_t[:, None]

    L = u.shape[0]
    y = D * u
    x = np.zeros(A.shape, np.complex128)
    for t in range(L):
        x = step(x, u[t])
        y[t] += 2 * np.sum(C[0] * x, axis=-1).real
    if bidirectional:
        # Backward state after reading u[L-1] ... u[t+1]: contributes only strictly later input.
        x = np.zeros(A.shape, np.complex128)
        for t in range(L - 1, -1, -1):
            y[t] += 2 * np.sum(C[1] * x, axis=-1).real
            x = step(x, u[t])
    return y


@pytest.mark.parametrize(
    "disc, a_init, real_transform, dt_transform, bidirectional",
    [
        ("zoh", "inv", "exp", "exp", False),
        ("zoh", "legs", "relu", "softplus", True),
        ("bilinear", "lin", "none", "exp", True),
        ("bilinear", "real", "exp", "softplus", False),
        ("dss", "rand", "exp", "exp", True),
        ("dss", "inv", "relu", "exp", False),
    ],
)
def test_convolution_chunks_and_recurrence_equal_the_naive_recurrence(
    disc, a_init, real_transform, dt_transform, bidirectional
):
    L, H, N = 29, 4, 8
    cfg = SSMConfig(d_state=N, a_init=a_init, disc=disc, real_transform=real_transform,
                    dt_transform=dt_transform, bidirectional=bidirectional, n_ssm=2,
                    b_init="hippo" if a_init == "legs" else "ones", l_max=32)
    u = jax.random.normal(jax.random.key(1), (2, L, H))
    mask = jnp.ones((2, L), bool)
    layer = s4d.S4D(cfg)
    params = layer.init(jax.random.key(0), u, mask, train=False)["params"]
    log_dA, dB, C = s4d.S4DKernel(cfg).apply({"params": params["kernel"]}, H, L)
    D = params["D"]
    paths = {  # every path through apply_ssm, with the D skip
        name: s4d.apply_ssm(dataclasses.replace(cfg, **kw), u, log_dA, dB, C, D)
        for name, kw in [("fft", {}), ("recurrent", {"mode": "recurrent"}),
                         ("chunked", {"conv": "chunked", "conv_chunk": 8})]  # 29 = 3×8 + 5
    }
    # The reference form of the kernel too.
    paths["direct"] = s4d.fft_conv(u, s4d.vandermonde_kernel(C * dB, log_dA, L)) + u * D

    p = jax.tree.map(lambda x: np.asarray(x, np.float64), params["kernel"])
    A_re = np.asarray(s4d.param_to_real(jnp.asarray(p["log_A_real"]), real_transform))
    A = np.tile(A_re + 1j * p["A_imag"], (H // 2, 1))
    B = np.tile(p["B"][..., 0] + 1j * p["B"][..., 1], (H // 2, 1))
    dt = np.asarray(s4d.param_to_dt(jnp.asarray(p["log_dt"]), dt_transform), np.float64)
    Cc = p["C"][..., 0] + 1j * p["C"][..., 1]
    for b in range(2):
        ref = naive_ssm(np.asarray(u[b], np.float64), disc, dt, A, B, Cc,
                        np.asarray(D, np.float64), bidirectional, L_norm=32)
        for name, y in paths.items():
            np.testing.assert_allclose(np.asarray(y[b]), ref, rtol=1e-3, atol=2e-4, err_msg=name)
    # The whole layer gives the same output in either mode.
    recurrent = s4d.S4D(SSMConfig(**{**cfg.__dict__, "mode": "recurrent"}))
    np.testing.assert_allclose(
        recurrent.apply({"params": params}, u, mask, train=False),
        layer.apply({"params": params}, u, mask, train=False), rtol=1e-3, atol=2e-4,
    )


def test_streaming_steps_equal_the_scan():
    cfg = SSMConfig(d_state=8, bidirectional=False)
    u = jax.random.normal(jax.random.key(2), (3, 17, 4))
    params = s4d.S4DKernel(cfg).init(jax.random.key(0), 4, 17)
    log_dA, dB, C = s4d.S4DKernel(cfg).apply(params, 4, 17)
    state = jnp.zeros((3, 4, 4), jnp.complex64)
    ys = []
    for t in range(17):
        y_t, state = s4d.ssm_step(state, u[:, t], jnp.exp(log_dA), dB, C[0])
        ys.append(y_t)
    np.testing.assert_allclose(jnp.stack(ys, 1), s4d.ssm_scan(u, log_dA, dB, C), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("L, block", [(50, None), (50, 16), (64, 8), (7, 1)])
def test_factored_kernel_equals_the_direct_kernel_with_gradients(L, block):
    rng = np.random.default_rng(0)
    CB = jnp.asarray(rng.normal(size=(2, 3, 4)) + 1j * rng.normal(size=(2, 3, 4)), jnp.complex64)
    log_dA = jnp.asarray(-rng.uniform(0.01, 0.1, (3, 4)) + 1j * rng.normal(size=(3, 4)) * 3,
                         jnp.complex64)
    # NumPy, complex128: the independent reference.
    steps = np.arange(L)
    ref = 2 * np.einsum("khp,hpl->khl", np.asarray(CB, np.complex128),
                        np.exp(np.asarray(log_dA, np.complex128)[..., None] * steps)).real
    np.testing.assert_allclose(s4d.vandermonde_kernel(CB, log_dA, L), ref, atol=2e-5)
    np.testing.assert_allclose(s4d.factored_kernel(CB, log_dA, L, block), ref, atol=2e-5)

    def loss(cb, ld, kernel):
        return jnp.sum(jnp.sin(kernel(cb, ld, L)))

    factored = jax.grad(loss, (0, 1))(CB, log_dA, lambda *a: s4d.factored_kernel(*a, block))
    direct = jax.grad(loss, (0, 1))(CB, log_dA, s4d.vandermonde_kernel)
    for f, d in zip(factored, direct, strict=True):
        np.testing.assert_allclose(f, d, rtol=1e-4, atol=1e-4)


def test_kernel_block_is_near_the_square_root():
    assert [s4d.kernel_block(L) for L in (1, 100, 1024, 4000, 16384)] == [1, 8, 32, 64, 128]


def test_fft_conv_gradients_equal_a_direct_convolution():
    """The hand-written VJP of the FFT convolution against autodiff of a direct O(L²) sum."""
    rng = np.random.default_rng(1)
    B, L, H = 2, 9, 3
    u = jnp.asarray(rng.normal(size=(B, L, H)), jnp.float32)
    k = jnp.asarray(rng.normal(size=(2, H, L)), jnp.float32)
    g = jnp.asarray(rng.normal(size=(B, L, H)), jnp.float32)
    t, s = np.arange(L)[:, None], np.arange(L)[None, :]

    def direct(u, k):
        causal = jnp.where(t >= s, k[0][:, np.clip(t - s, 0, None)], 0.0)  # (H, t, s)
        anti = jnp.where(s > t, k[1][:, np.clip(s - t - 1, 0, None)], 0.0)
        return jnp.einsum("hts,bsh->bth", causal + anti, u)

    y, vjp = jax.vjp(s4d.fft_conv, u, k)
    y_ref, vjp_ref = jax.vjp(direct, u, k)
    np.testing.assert_allclose(y, y_ref, atol=1e-4)
    for got, want in zip(vjp(g), vjp_ref(g), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-4)


def test_shared_ssms_and_frozen_B():
    # ZOH: log Ā = Δ·A exactly, so each channel's A is read back from the kernel.
    cfg = SSMConfig(d_state=8, n_ssm=2, b_trainable=False, disc="zoh")
    kernel = s4d.S4DKernel(cfg)
    params = kernel.init(jax.random.key(0), 6, 10)["params"]
    assert params["log_A_real"].shape == params["A_imag"].shape == (2, 4)
    assert params["B"].shape == (2, 4, 2) and params["log_dt"].shape == (6,)
    log_dA, _, _ = kernel.apply({"params": params}, 6, 10)
    dt = np.exp(np.asarray(params["log_dt"]))[:, None]
    A = np.asarray(log_dA) / dt
    np.testing.assert_allclose(A[0], A[2], rtol=1e-5)  # channel h uses copy h mod 2
    np.testing.assert_allclose(A[1], A[5], rtol=1e-5)

    def loss(p, cfg):
        _, dB, C = s4d.S4DKernel(cfg).apply({"params": p}, 6, 10)
        return jnp.sum(jnp.abs(dB * C) ** 2)

    assert not np.any(jax.grad(loss)(params, cfg)["B"])
    trainable = SSMConfig(d_state=8, n_ssm=2, b_trainable=True, disc="zoh")
    assert np.any(jax.grad(loss)(params, trainable)["B"])
    with pytest.raises(ValueError, match="must divide"):
        s4d.S4DKernel(SSMConfig(n_ssm=4)).init(jax.random.key(0), 6, 10)


def test_config_rejects_unknown_options():
    for kw, message in [(dict(disc="euler"), "discretization"), (dict(a_init="x"), "S4D init"),
                        (dict(real_transform="abs"), "real-part"), (dict(mode="scan"), "mode"),
                        (dict(dt_min=0.2, dt_max=0.1), "dt_min"), (dict(d_state=7), "even")]:
        with pytest.raises(ValueError, match=message):
            SSMConfig(**kw)


def test_parameters_at_init():
    layer = s4d.S4D(SSMConfig(d_state=16, dt_min=1e-3, dt_max=1e-1))
    u = jnp.ones((1, 8, 64))
    params = layer.init(jax.random.key(0), u, jnp.ones((1, 8), bool), train=False)["params"]
    params = params["kernel"]
    dt = np.exp(np.asarray(params["log_dt"]))
    assert dt.min() >= 1e-3 * (1 - 1e-6) and dt.max() <= 1e-1 * (1 + 1e-6)
    # Log-uniform: the median of log dt sits near the middle of [log 1e-3, log 1e-1].
    assert abs(np.median(np.log10(dt)) + 2) < 0.3
    assert params["log_A_real"].shape == (64, 8)
    assert params["C"].shape == (2, 64, 8, 2)
    np.testing.assert_allclose(-np.exp(np.asarray(params["log_A_real"])), -0.5, rtol=1e-6)


def test_postact_linear_is_one_linear_map_after_the_ssm():
    """S4's `postact: null` (the S4D ablation setting): GELU(SSM(u)) -> Linear(H, H), no GLU."""
    cfg, H, L = SSMConfig(d_state=8), 6, 12
    u = jax.random.normal(jax.random.key(1), (2, L, H))
    mask = jnp.ones((2, L), bool)
    layer = s4d.S4D(cfg, postact="linear")
    params = layer.init(jax.random.key(0), u, mask, train=False)["params"]
    assert params["out"]["kernel"].shape == (H, H)
    log_dA, dB, C = s4d.S4DKernel(cfg).apply({"params": params["kernel"]}, H, L)
    y = jax.nn.gelu(s4d.apply_ssm(cfg, u, log_dA, dB, C, params["D"]), approximate=False)
    expected = y @ params["out"]["kernel"] + params["out"]["bias"]
    np.testing.assert_allclose(layer.apply({"params": params}, u, mask, train=False), expected,
                               rtol=1e-5, atol=1e-5)
    assert s4d.S4D(cfg).init(jax.random.key(0), u, mask, train=False)["params"]["out"][
        "kernel"].shape == (H, 2 * H)


def test_c_starts_as_the_normal_draw_times_b():
    """S4 v3.0.0 multiplies the initial C by B in diag mode (kernel.py:975). Flax gives the
    parameter C the same key whatever B is, so C with HiPPO's B is C with B = ones times B."""
    H, N, S = 6, 8, 3

    def initial_c(b_init):
        cfg = SSMConfig(d_state=N, a_init="legs", b_init=b_init, n_ssm=S)
        p = s4d.S4DKernel(cfg).init(jax.random.key(0), H, 10)["params"]
        return np.asarray(p["C"][..., 0] + 1j * p["C"][..., 1], np.complex128)

    plain = initial_c("ones")
    np.testing.assert_allclose(np.mean(np.abs(plain) ** 2), 1.0, atol=0.35)  # E|C|² = 1
    B = np.tile(s4d.init_B("hippo", S, N), (H // S, 1))  # channel h uses copy h mod S
    np.testing.assert_allclose(initial_c("hippo"), plain * B, rtol=1e-5, atol=1e-6)
