"""Configs: variants exist, overrides are typed and checked, the full config is the paper's."""

import pytest

import tasks
from lra.cli import main
from lra.configs import get_config
from lra.configs.common import Config, ModelConfig, describe, keys
from lra.errors import ConfigError
from tasks import pathfinder


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
        ("model.norm=group", "--set model.norm=group: choose one of batch, layer"),
        ("model.disc=euler", "--set model.disc=euler: choose one of zoh, bilinear, dss"),
        ("model.dtype=float16", "choose one of float32, bfloat16"),
        ("data.val_fraction=0.1", r"unknown config key. Keys of data: none \(listops has no"),
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


VARIANTS = [(task, v) for task in tasks.TASKS for v in ("full", "smoke")] + [
    ("listops", "demo"), ("pathfinder", "demo")]


@pytest.mark.parametrize("task, variant", VARIANTS)
def test_every_key_of_every_config_is_documented_where_users_read_it(task, variant, capsys):
    # The documentation is the comment beside each declaration; `python -m lra config` shows it.
    cfg = get_config(task, variant)
    rows = describe(cfg)
    assert [k for k, _, _ in rows] == keys(cfg)
    undocumented = [k for k, _, doc in rows if len(doc) < 10]
    assert not undocumented
    assert main(["config", "--task", task, "--config", variant]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(rows)
    for line, (key, value, doc) in zip(out, rows, strict=True):
        assert line.startswith(f"{key} = {value!r}") and line.endswith(f"# {doc}")


def test_choices_are_checked_wherever_they_are_set():
    with pytest.raises(ConfigError, match="model.norm='group': choose one of batch, layer"):
        ModelConfig(norm="group")  # in a config file
    with pytest.raises(ConfigError, match="data.difficulty='easy': choose one of curv_baseline"):
        Config(task="pathfinder", variant="x", data=pathfinder.Options(difficulty="easy"))
    with pytest.raises(ConfigError, match="data of task listops must be tasks.base.NoOptions"):
        Config(task="listops", variant="x", data=pathfinder.Options())
    assert get_config("pathx", "smoke").data == pathfinder.Options()  # the adapter's defaults


def test_changes_name_what_differs_from_the_variant_as_written():
    from lra.configs import changes

    assert changes(get_config("listops", "full")) == {}
    assert changes(get_config("listops", "full", ["seed=3"])) == {}  # seeds are their own column
    cfg = get_config("listops", "full", ["train.epochs=5", "model.disc=zoh"], model="s4d-lin")
    assert changes(cfg) == {"train.epochs": 5, "model.disc": "zoh", "model.a_init": "lin"}


def test_task_options_are_the_data_section():
    cfg = get_config("text", "smoke", ["data.val_fraction=0.1"])
    assert cfg.data.val_fraction == 0.1
    with pytest.raises(ConfigError, match=r"--set data.val_fraction=1.5: val_fraction must be "
                                          r"in \[0, 1\)"):
        get_config("text", "smoke", ["data.val_fraction=1.5"])
    cfg = get_config("pathfinder", "smoke", ["data.difficulty=curv_baseline"])
    assert cfg.data.difficulty == "curv_baseline"
    with pytest.raises(ConfigError, match="Keys of data: data.difficulty"):
        get_config("pathfinder", "smoke", ["data.val_fraction=0.1"])


def test_the_readmes_model_table_lists_every_choice_as_declared():
    import re
    import typing
    from pathlib import Path

    from lra.configs.common import hints, show

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("## Model options", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `(\w+)` \| (.*) \|$", table, re.M))
    literal = {k: typing.get_args(h) for k, h in hints(ModelConfig).items()
               if typing.get_origin(h) is typing.Literal}
    assert set(rows) == set(literal)
    for key, values in literal.items():
        assert tuple(re.findall(r"`([^`]+)`", rows[key])) == tuple(map(show, values)), key


def test_every_paper_variant_names_the_config_it_follows():
    """Every `full` config (and sCIFAR's ablation) names its state-spaces/s4 v3.0.0 file, and a
    run record carries it (lra/prepare.py header)."""
    import tasks
    from lra.configs import reference

    for task in tasks.TASKS:
        ref = reference(task, "full")
        assert ref and ref.startswith("state-spaces/s4 v3.0.0 configs/experiment/"), task
        assert ref.endswith(".yaml"), task
    assert reference("scifar", "ablation").endswith("cifar/s4-cifar-ablation.yaml")
    assert reference("listops", "smoke") is None and reference("listops", "demo") is None
