"""Parameter groups and schedules."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lra.configs.common import OptimConfig
from lra.errors import ConfigError
from lra.optim import group_table, make_optimizer, schedule
from models.s4d import SSMConfig
from models.sequence import Backbone, SequenceClassifier


@pytest.fixture(scope="module")
def params():
    model = SequenceClassifier(
        3, Backbone(vocab_size=7, d_model=4, n_layers=2, ssm=SSMConfig(d_state=4))
    )
    x = jnp.ones((1, 8), jnp.int32)
    return model.init(jax.random.key(0), x, jnp.array([8]), train=False)["params"]


def test_groups_cover_ssm_dt_and_rest(params):
    _, labels, _ = make_optimizer(params, OptimConfig(), total_steps=10)
    table = group_table(params, labels)
    ssm = sorted(p for p, g in table.items() if g == "ssm")
    assert ssm == sorted(
        f"backbone/block_{i}/S4D_0/kernel/{n}"
        for i in range(2)
        for n in ("A_imag", "B", "log_A_real")
    )
    assert sorted(p for p, g in table.items() if g == "dt") == [
        "backbone/block_0/S4D_0/kernel/log_dt", "backbone/block_1/S4D_0/kernel/log_dt"]
    assert table["backbone/block_0/S4D_0/kernel/C"] == "default"
    assert table["backbone/encoder/embedding"] == "default"


def test_pattern_matching_nothing_is_an_error(params):
    with pytest.raises(ConfigError, match="optim.ssm_params='Lambda' matches no parameter"):
        make_optimizer(params, OptimConfig(ssm_params="Lambda"), total_steps=10)


def test_ssm_and_dt_get_no_weight_decay_and_their_own_lr(params):
    cfg = OptimConfig(lr=0.1, ssm_lr=0.01, dt_lr=0.02, weight_decay=0.5, warmup_steps=0)
    tx, labels, _ = make_optimizer(params, cfg, total_steps=100)
    zeros = jax.tree.map(jnp.zeros_like, params)
    updates, _ = tx.update(zeros, tx.init(params), params)
    # Zero gradient: AdamW's update is only the decoupled decay -lr·wd·p.
    kernel = updates["backbone"]["block_0"]["S4D_0"]["kernel"]
    for name in ("log_A_real", "A_imag", "B", "log_dt"):
        np.testing.assert_array_equal(kernel[name], 0.0)
    p = params["decoder"]["kernel"]
    np.testing.assert_allclose(updates["decoder"]["kernel"], -0.1 * 0.5 * p, rtol=1e-6)
    # A unit gradient: the first Adam step moves each parameter by its group's lr.
    ones = jax.tree.map(jnp.ones_like, params)
    updates, _ = tx.update(ones, tx.init(params), zeros)
    ssm_updates = updates["backbone"]["block_1"]["S4D_0"]["kernel"]
    np.testing.assert_allclose(ssm_updates["B"], -0.01, rtol=1e-5)
    np.testing.assert_allclose(ssm_updates["log_dt"], -0.02, rtol=1e-5)
    np.testing.assert_allclose(updates["decoder"]["bias"], -0.1, rtol=1e-5)


def test_schedule_warmup_then_cosine_to_zero():
    s = schedule(1.0, warmup_steps=10, total_steps=110)
    np.testing.assert_allclose([s(0), s(5), s(10), s(60), s(110)], [0, 0.5, 1.0, 0.5, 0.0],
                               atol=1e-6)
