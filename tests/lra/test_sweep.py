"""Sweeps: seeds and grids of config values, resumable; a diverging run is recorded, not fatal."""

import json

import pytest

from lra.cli import main
from lra.errors import ConfigError
from lra.sweep import parse_grid, plan
from tasks.generators import listops as gen


def test_plan_names_every_run_and_checks_the_grid(tmp_path):
    runs = plan("listops", "full", tmp_path, [0, 1], model="s4d-lin")
    assert [r.workdir.name for r in runs] == ["listops-s4d-lin-full-seed0",
                                              "listops-s4d-lin-full-seed1"]
    runs = plan("listops", "smoke", tmp_path, [7],
                grid=["model.a_init=legs,inv", "model.disc=zoh,bilinear,dss"])
    assert len(runs) == 6 and runs[0].overrides == ("model.a_init=legs", "model.disc=zoh")
    assert runs[-1].workdir == tmp_path / "listops-smoke-sweep" / "a_init=inv,disc=dss-seed7"
    assert parse_grid(["optim.lr=0.1,0.01"]) == [("optim.lr", ["0.1", "0.01"])]
    for bad in ("model.disc", "model.disc="):
        with pytest.raises(ConfigError, match="expected key=v1,v2"):
            parse_grid([bad])
    with pytest.raises(ConfigError, match="given twice"):
        parse_grid(["model.disc=zoh", "model.disc=dss"])


def test_a_bad_value_anywhere_in_the_grid_stops_before_any_run(tmp_path, capsys):
    code = main(["sweep", "--task", "listops", "--config", "smoke", "--data-dir", str(tmp_path),
                 "--runs", str(tmp_path / "runs"), "--grid", "model.disc=zoh,euler",
                 "--grid", "train.epochs=1,two"])
    assert code == 2 and "train.epochs=two: expected a value of type int" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_sweep_runs_the_grid_records_divergence_then_reports_and_resumes(tmp_path, capsys):
    data = tmp_path / "data"
    gen.generate(data, train=48, val=16, test=16, min_length=5, max_length=30, max_depth=3,
                 seed=0)
    runs, out = tmp_path / "runs", tmp_path / "out"
    argv = ["sweep", "--task", "listops", "--config", "smoke", "--data-dir", str(data),
            "--runs", str(runs), "--grid", "model.disc=zoh,bilinear",
            "--grid", "optim.lr=0.01,1e30", "--set", "train.eval_batch_size=16"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "sweep: 2 run, 2 failed, 0 skipped" in text
    folder = runs / "listops-smoke-sweep"
    for disc in ("zoh", "bilinear"):
        ok = json.loads((folder / f"disc={disc},lr=0.01-seed0" / "result.json").read_text())
        # smoke's lr is 0.01 and its disc bilinear: only a departure from the variant is a change
        assert ok["config_changes"] == ({} if disc == "bilinear" else {"model.disc": "zoh"})
        bad = json.loads((folder / f"disc={disc},lr=1e30-seed0" / "failure.json").read_text())
        assert bad["status"] == "failed" and "non-finite loss or gradients" in bad["error"]
        assert not (folder / f"disc={disc},lr=1e30-seed0" / "result.json").exists()
    assert f"  finished    {folder / 'disc=zoh,lr=0.01-seed0'}" in text
    assert f"  failed      {folder / 'disc=zoh,lr=1e30-seed0'}" in text
    assert "summary: 2 finished, 2 failed" in text

    assert main(argv) == 0  # rerun: every run has ended, nothing trains again
    assert "sweep: 0 run, 0 failed, 4 skipped" in capsys.readouterr().out

    assert main(["report", "--runs", str(runs), "--out", str(out)]) == 0
    ablations = (out / "ablations.md").read_text()
    assert "## ListOps: smoke config with optim.lr=1e+30, generated data, 0/1 epochs" in ablations
    assert "| init | disc zoh | disc bilinear |" not in ablations  # only varying choices shown
    assert "| disc | accuracy |\n|---|---|\n| zoh | ✗ |\n| bilinear | ✗ |" in ablations
    assert (out / "plots" / "listops.png").exists()
    listing = json.loads((out / "lra_runs.json").read_text(),
                         parse_constant=lambda c: pytest.fail(f"{c} in lra_runs.json"))
    assert sorted(r["test_accuracy"] is None for r in listing) == [False, False, True, True]


def test_all_stands_for_every_value_of_a_choice(tmp_path):
    runs = plan("pathfinder", "smoke", tmp_path, [0],
                grid=["model.b_trainable=all", "data.difficulty=all"])
    assert [r.overrides for r in runs[:3]] == [
        ("model.b_trainable=True", "data.difficulty=curv_baseline"),
        ("model.b_trainable=True", "data.difficulty=curv_contour_length_9"),
        ("model.b_trainable=True", "data.difficulty=curv_contour_length_14")]
    assert len(runs) == 6
    with pytest.raises(ConfigError, match="optim.lr is not a choice key; list its values"):
        plan("listops", "smoke", tmp_path, [0], grid=["optim.lr=all"])
    with pytest.raises(ConfigError, match="unknown config key"):
        plan("listops", "smoke", tmp_path, [0], grid=["data.difficulty=all"])
