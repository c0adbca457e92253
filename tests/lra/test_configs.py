"""Configs: variants exist, overrides are typed and checked, the full config is the paper's."""

import dataclasses

import pytest

from lra.configs import ConfigError, get_config
from lra.configs.common import keys


def test_variants_and_unknown_names():
    for variant in ("full", "smoke", "demo"):
        assert get_config("listops", variant).variant == variant
    with pytest.raises(ConfigError, match="no config 'huge'"):
        get_config("listops", "huge")
    with pytest.raises(ConfigError, match="unknown task 'sudoku'"):
        get_config("sudoku", "full")


def test_overrides_are_typed():
    cfg = get_config("listops", "smoke", [
        "model.d_model=32", "optim.lr=3e-4", "model.bidirectional=false",
        "optim.total_steps=None", "optim.dt_lr=0.001", "seed=7", "model.a_init=lin",
    ])
    assert (cfg.model.d_model, cfg.optim.lr, cfg.model.bidirectional) == (32, 3e-4, False)
    assert cfg.optim.total_steps is None and cfg.optim.dt_lr == 0.001
    assert cfg.seed == 7 and cfg.model.a_init == "lin"
    assert get_config("listops", "smoke").model.d_model == 16  # the original is untouched


@pytest.mark.parametrize(
    "item, message",
    [
        ("model.width=3", "unknown config key"),
        ("model.d_model=big", "expected a value of type int"),
        ("model.bidirectional=maybe", "expected a value of type bool"),
        ("train.epochs", "expected key=value"),
        ("seed=None", "expected a value of type int"),
    ],
)
def test_bad_overrides(item, message):
    with pytest.raises(ConfigError, match=message):
        get_config("listops", "smoke", [item])


def test_full_listops_is_the_s4d_paper_config():
    # lra-reference §3.1, state-spaces/s4 v3.0.0 configs/experiment/lra/s4-lra-listops.yaml
    cfg = get_config("listops", "full")
    m, o, t = cfg.model, cfg.optim, cfg.train
    assert (m.n_layers, m.d_model, m.d_state, m.norm, m.prenorm, m.dropout) == (
        8, 128, 64, "batch", False, 0.0)
    assert (m.dt_min, m.dt_max, m.bidirectional, m.pool) == (1e-3, 0.1, True, "mean")
    assert (o.lr, o.ssm_lr, o.dt_lr, o.weight_decay) == (0.01, 1e-3, None, 0.05)
    assert (o.warmup_steps, o.total_steps, t.batch_size, t.epochs, cfg.seed) == (
        1000, 80_000, 50, 40, 2222)


def test_every_key_is_documented():
    """Each field carries a trailing comment in lra/configs/common.py."""
    import inspect

    from lra.configs import common

    src = inspect.getsource(common)
    cfg = get_config("listops", "full")
    for key in keys(cfg):
        leaf = key.split(".")[-1]
        decl = [line for line in src.splitlines() if line.strip().startswith(f"{leaf}:")]
        assert decl and all("#" in line for line in decl), key
    assert dataclasses.is_dataclass(cfg)


def test_changes_name_what_differs_from_the_variant_as_written():
    from lra.configs import changes

    assert changes(get_config("listops", "full")) == {}
    assert changes(get_config("listops", "full", ["seed=3"])) == {}  # seeds are their own column
    cfg = get_config("listops", "full", ["train.epochs=5", "model.disc=bilinear"], model="s4d-lin")
    assert changes(cfg) == {"train.epochs": 5, "model.disc": "bilinear", "model.a_init": "lin"}
