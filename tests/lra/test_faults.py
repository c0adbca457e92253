"""Faults: stop signals (one flag per run, decided by all processes together), non-finite steps
named, binary runs at ln 2 flagged, runs behind the healthy curve flagged and stopped."""

import json
import os
import signal
import time
from types import SimpleNamespace

import numpy as np
import pytest

from lra.configs import get_config
from lra.errors import ConfigError, TrainingError
from lra.faults import StopSignals, check_finite, sanity_expected, sanity_points, stuck_at_chance


def test_a_signal_becomes_a_flag_and_the_old_handlers_come_back():
    before = signal.getsignal(signal.SIGTERM)
    with StopSignals() as stop:
        assert stop.poll() is None
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)
        assert stop.poll() == signal.SIGTERM  # the process is still alive: the loop decides
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.poll() == signal.SIGINT
        with pytest.raises(KeyboardInterrupt):  # Ctrl-C twice: at once
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_non_finite_window_names_the_step_and_the_parameters():
    params = {"decoder": {"bias": np.array([np.nan, 0.0]), "kernel": np.ones(2)}}
    window = {"bad_steps": 2.0, "first_bad": 6, "bad_grads": np.array([1.0, 0.0])}
    with pytest.raises(TrainingError, match=r"at step 7 \(2 bad steps up to step 9\): gradients "
                                            r"not finite for 1 of 2 parameters, first "
                                            r"decoder/bias; parameter values already not "
                                            r"finite: decoder/bias\. .*Lower optim.lr"):
        check_finite(window, params, 9)
    check_finite({**window, "bad_steps": 0.0}, params, 9)  # a clean window passes
    check_finite({"loss_sum": 1.0}, params, 9)  # a window without steps yet


def test_stuck_at_chance_flag():
    cfg = get_config("pathfinder", "smoke", ["train.chance_epochs=2"])
    binary, ten = SimpleNamespace(num_classes=2), SimpleNamespace(num_classes=10)
    ln2 = float(np.log(2))
    rows = [{"train_loss": ln2 + d} for d in (0.02, 0.004, -0.003)]
    assert stuck_at_chance(cfg, binary, rows[:1]) is None  # before the budget
    assert stuck_at_chance(cfg, binary, rows) is True
    assert stuck_at_chance(cfg, binary, [*rows, {"train_loss": 0.5}]) is False  # escaped
    assert stuck_at_chance(cfg, ten, rows) is None
    assert get_config("pathx", "full").train.chance_epochs == 5


def test_the_healthy_curve_is_straight_lines_from_chance_through_the_points():
    points = ((2, 0.5), (4, 0.9))
    expected = [sanity_expected(points, e, chance=0.1) for e in range(1, 7)]
    np.testing.assert_allclose(expected, [0.3, 0.5, 0.7, 0.9, 0.9, 0.9])
    assert sanity_expected((), 3, chance=0.5) is None


@pytest.mark.parametrize(("setting", "points"), [
    ("auto", ((10, 0.5),)),  # S4's ListOps checkpoint (README table), for the full config
    ("off", ()),
    ("2:0.3,5:0.45", ((2, 0.3), (5, 0.45))),
])
def test_sanity_points_of_the_full_config(setting, points):
    cfg = get_config("listops", "full", [f"train.sanity={setting}"])
    assert sanity_points(cfg) == points
    assert sanity_points(get_config("listops", "smoke")) == ()  # auto: full configs only


@pytest.mark.parametrize("bad", ["10", "0:0.5", "3:1.5", "5:0.5,2:0.3", "a:b"])
def test_a_bad_sanity_table_is_refused_when_set(bad):
    with pytest.raises(ConfigError, match="train.sanity"):
        get_config("listops", "smoke", [f"train.sanity={bad}"])


SLOW = ["train.epochs=3", "train.batch_size=16", "train.eval_batch_size=40",
        "optim.lr=0", "optim.ssm_lr=0", "optim.dt_lr=0"]  # a planted learner that never learns


def test_a_slow_learner_is_flagged_then_stopped_when_asked(tmp_path):
    from lra.report.runs import load_results
    from lra.report.tables import build_table
    from lra.sweep import sweep
    from lra.train import train_and_evaluate
    from tasks.generators import listops as gen

    gen.generate(tmp_path / "data", train=64, val=40, test=40, min_length=5, max_length=40,
                 max_depth=3, seed=0)
    lines = []
    cfg = get_config("listops", "smoke", [*SLOW, "train.epochs=2", "train.sanity=1:0.5,2:0.6"])
    result = train_and_evaluate(cfg, tmp_path / "runs" / "slow", tmp_path / "data",
                                log=lines.append)
    assert result["behind_sanity"] and result["behind_sanity_epochs"] == [1, 2]
    assert result["status"] == "completed" and result["sanity_curve"] == [[1, 0.5], [2, 0.6]]
    assert sum("WARNING behind_sanity: epoch" in line for line in lines) == 2
    rows = [json.loads(line) for line in (tmp_path / "runs" / "slow" / "metrics.jsonl")
            .read_text().splitlines()]
    val = [r for r in rows if r["split"] == "val"]
    assert [(r["behind_sanity"], r["sanity_expected"]) for r in val] == [(True, 0.5), (True, 0.6)]
    assert all("behind_sanity" not in r for r in rows if r["split"] == "test")
    table = build_table(load_results(tmp_path / "runs"))
    assert "n=1, 1 behind" in table.iloc[0]["ListOps"]

    # stop_when_stuck: the sanity checkpoint is epoch 1; the run ends after it, and says why.
    overrides = [*SLOW, "train.sanity=1:0.5", "train.stop_when_stuck=true"]
    out = sweep("listops", "smoke", tmp_path / "data", tmp_path / "sweep", [0],
                overrides=overrides, log=lines.append)
    (workdir,) = out["done"]
    early = json.loads((workdir / "result.json").read_text())
    assert (early["status"], early["epochs_completed"]) == ("stopped_early", 1)
    assert "behind S4's sanity curve" in early["stopped_because"]
    assert "below 0.5000 (due by epoch 1)" in early["stopped_because"]
    row = load_results(tmp_path / "sweep").iloc[0]
    assert row.failed and row.failure.startswith("stopped early: behind")
    again = sweep("listops", "smoke", tmp_path / "data", tmp_path / "sweep", [0],
                  overrides=overrides, log=lines.append)
    assert again["skipped"] == [workdir]  # ended: a rerun of the sweep does not redo it
