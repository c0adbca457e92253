"""Config -> model: every model key reaches the layer, bad values are one-line config errors."""

import dataclasses

import jax.numpy as jnp
import pytest

from lra.build import create_model, model_name, ssm_config
from lra.configs import get_config, named_model
from lra.errors import ConfigError
from tasks.listops import SPEC


def test_model_keys_reach_the_ssm():
    cfg = get_config("listops", "smoke", [
        "model.a_init=legs", "model.disc=zoh", "model.real_transform=relu",
        "model.dt_transform=softplus", "model.b_trainable=false", "model.n_ssm=2",
        "model.mode=recurrent", "model.dtype=bfloat16",
        "model.conv=chunked", "model.conv_chunk=32",
    ])
    ssm = ssm_config(cfg, SPEC)
    assert (ssm.a_init, ssm.b_init, ssm.disc, ssm.real_transform, ssm.dt_transform) == (
        "legs", "hippo", "zoh", "relu", "softplus")
    assert (ssm.b_trainable, ssm.n_ssm, ssm.mode, ssm.l_max) == (False, 2, "recurrent", 2048)
    assert (ssm.conv, ssm.conv_chunk) == ("chunked", 32)
    model = create_model(cfg, SPEC)
    assert model.backbone.ssm == ssm and model.backbone.dtype == jnp.bfloat16
    assert model_name(cfg.model) == "S4D-LegS (zoh, Re relu, Δ softplus, B frozen)"
    fft = ["model.conv=fft"]
    assert ssm_config(get_config("listops", "smoke", fft), SPEC).b_init == "ones"
    assert ssm_config(get_config("listops", "smoke", [*fft, "max_length=512"]), SPEC).l_max == 512


def test_conv_auto_is_resolved_by_a_run_not_by_the_model():
    # model.conv=auto (the default) is chosen by timing when a run starts (lra/choose.py); a
    # model built outside a run must name its path.
    with pytest.raises(ConfigError, match="model.conv=auto is chosen when a run starts"):
        create_model(get_config("listops", "smoke", ["model.conv=auto"]), SPEC)


@pytest.mark.parametrize(
    "item, message",
    [
        ("model.d_state=7", "must be even"),
        ("model.dt_min=0.5", "need 0 < dt_min <= dt_max"),
        ("model.n_ssm=3", "model.n_ssm=3 must divide model.d_model=16"),
    ],
)
def test_bad_model_values(item, message):
    with pytest.raises(ConfigError, match=message):
        create_model(get_config("listops", "smoke", [item, "model.conv=fft"]), SPEC)


@pytest.mark.parametrize("model, overrides, name", [
    ("s4d-legs", [], "S4D-LegS"),
    ("s4d-inv", [], "S4D-Inv"),
    ("s4d-lin", ["model.disc=dss"], "S4D-Lin (dss)"),
    ("s4d-real", ["model.b_init=hippo"], "S4D-Real (B hippo)"),
    ("s4d-rand", ["model.real_transform=none"], "S4D-Rand (Re none)"),
    ("dss", [], "DSS"),
])
def test_model_presets_and_names(model, overrides, name):
    # A preset replaces what a config file chose, and every departure from a named model of the
    # S4D paper is in its name, so no ablation run shares a table row with the named model.
    base = get_config("listops", "smoke", ["model.disc=zoh"])
    assert model_name(base.model) == "S4D-Inv (zoh)"
    assert named_model(base.model) is None
    cfg = get_config("listops", "smoke", overrides, model=model)
    assert model_name(cfg.model) == name
    # Named models are recognised from the choices, in a config or in a record's config.json.
    assert named_model(cfg.model) == (None if overrides else model)
    assert named_model(dataclasses.asdict(cfg.model)) == named_model(cfg.model)
    b_init = ssm_config(get_config("listops", "smoke", [*overrides, "model.conv=fft"],
                                   model=model), SPEC).b_init
    assert b_init == ("hippo" if model == "s4d-legs" or "hippo" in str(overrides) else "ones")
    with pytest.raises(ConfigError, match="unknown model 's4d-foo'; choose one of s4d-legs"):
        get_config("listops", "smoke", model="s4d-foo")


def test_b_init_auto_is_resolved_before_comparing():
    # LegS with B HiPPO's spelled out is S4D-LegS; LegS with B ones is not (and is not DSS).
    legs = get_config("listops", "smoke", model="s4d-legs").model
    spelled = dataclasses.replace(legs, b_init="hippo")
    assert named_model(spelled) == "s4d-legs" and model_name(spelled) == "S4D-LegS"
    ones = dataclasses.replace(legs, b_init="ones")
    assert named_model(ones) is None and model_name(ones) == "S4D-LegS (B ones)"
    assert model_name(dataclasses.replace(ones, disc="dss", real_transform="relu")) == \
        "DSS (Re relu)"
