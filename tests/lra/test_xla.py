"""train.xla_flags: XLA's options, written as XLA_FLAGS writes them, reach every program a run
compiles, through XLA itself (its dumps show which programs were compiled with them)."""

import pytest

from lra.cli import main
from lra.configs import get_config
from lra.configs.common import parse_xla_flags
from lra.dryrun import dry_run, report
from lra.errors import ConfigError


def test_flags_are_read_as_xla_flags_writes_them():
    assert parse_xla_flags("") == {}
    assert parse_xla_flags("--xla_a=1  --xla_b=False --xla_c=true --xla_d --xla_e=") == {
        "xla_a": "1", "xla_b": False, "xla_c": True, "xla_d": True, "xla_e": ""}


@pytest.mark.parametrize("text, says", [
    ("xla_gpu_enable_triton_gemm=false", "'xla_gpu_enable_triton_gemm=false' is not an XLA flag"),
    ("--jax_enable_x64", "'--jax_enable_x64' is not an XLA flag"),
    ("--xla_a=1 --xla_a=2", "xla_a is set twice"),
])
def test_what_is_not_a_flag_is_refused_when_the_config_is_built(text, says):
    with pytest.raises(ConfigError, match=says) as e:
        get_config("listops", "smoke", [f"train.xla_flags={text}"])
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("text, says", [
    ("--xla_no_such_option=1", "No such compile option: 'xla_no_such_option'"),
    ("--xla_gpu_enable_triton_gemm=maybe", "'maybe' is not a valid bool value"),
])
def test_an_option_xla_does_not_take_is_one_line_before_anything_runs(tmp_path, capsys, text,
                                                                      says):
    assert main(["train", "--task", "listops", "--config", "smoke", "--dry-run",
                 "--set", f"train.xla_flags={text}"]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and "\n" not in err and err.startswith("error: train.xla_flags=")


def test_the_flags_reach_the_training_and_evaluation_steps_and_auto_timing(tmp_path):
    dump = tmp_path / "dump"
    cfg = get_config("listops", "smoke", ["model.conv=auto",
                                          f"train.xla_flags=--xla_dump_to={dump}"])
    out = dry_run(cfg, steps=1)
    assert out["conv_choice"]["chosen"] in ("fft", "chunked")
    assert f"  XLA flags       --xla_dump_to={dump} (train.xla_flags)" in report(out)
    modules = {p.name.split(".")[1] for p in dump.iterdir() if p.name.startswith("module_")}
    assert {"jit_train_step", "jit_eval_step"} <= modules, modules
    assert sum(m.startswith("jit_loss") for m in modules) >= 1, modules  # auto's layer programs
    # Programs outside the run's steps keep XLA's defaults: the initialisation was not dumped.
    assert not any("init" in m for m in modules), modules
