"""Live tracking through the real libraries: TensorBoard event files read back with
TensorBoard's own reader hold the logged scalars; a resumed run purges and relogs; W&B in offline
mode keeps one run id for a workdir across sessions."""

import os
import signal

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lra import tracking
from lra.cli import main
from lra.records import read_metrics
from tests.lra.test_resume import train_rows_at

ARGS = ["--set", "train.epochs=2", "--set", "train.batch_size=16", "--set",
        "train.eval_batch_size=40", "--set", "train.log_every=2"]


def events(logdir) -> EventAccumulator:
    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def series(acc, tag) -> list[tuple[int, float]]:
    return [(e.step, pytest.approx(e.value, rel=1e-6)) for e in acc.Scalars(tag)]


def test_event_files_hold_every_scalar_of_metrics_jsonl_and_wandb_keeps_its_id(
        listops_data, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    workdir = tmp_path / "run"

    def train():
        return main(["train", "--task", "listops", "--config", "smoke", "--data-dir",
                     str(listops_data), "--workdir", str(workdir), *ARGS,
                     "--set", "train.wandb=lra-test"])

    with monkeypatch.context() as m:  # 6 steps per epoch; stopped during step 8, then resumed
        train_rows_at(m, {8: lambda batch: os.kill(os.getpid(), signal.SIGTERM)})
        assert train() == 128 + signal.SIGTERM
    assert train() == 0
    rows = read_metrics(workdir / "metrics.jsonl")
    acc = events(workdir / "tensorboard")
    train_rows = [r for r in rows if r["split"] == "train"]
    assert series(acc, "train/loss") == [(r["step"], r["loss"]) for r in train_rows]
    assert series(acc, "train/accuracy") == [(r["step"], r["accuracy"]) for r in train_rows]
    assert series(acc, "speed/examples_per_s") == [(r["step"], r["examples_per_s"])
                                                   for r in train_rows]
    for group in ("default", "ssm", "dt"):
        assert series(acc, f"lr/{group}") == [(r["step"], r["lr_groups"][group])
                                              for r in train_rows]
    assert train_rows[-1]["lr_groups"]["ssm"] != train_rows[-1]["lr_groups"]["default"]
    for split in ("val", "test"):
        evals = [r for r in rows if r["split"] == split]
        assert [r["epoch"] for r in evals] == [1, 2]
        assert series(acc, f"{split}/accuracy") == [(r["step"], r["accuracy"]) for r in evals]
    # Both sessions logged to one W&B run: its id comes from the workdir.
    runs = sorted(p.name for p in (workdir / "wandb").glob("offline-run-*"))
    assert len(runs) == 2 and all(p.endswith(tracking.run_id(workdir)) for p in runs)
    assert "logging to W&B project lra-test" in capsys.readouterr().out


def test_a_resumed_writer_purges_the_points_after_the_checkpoint(tmp_path):
    def row(step, loss):
        return {"split": "train", "step": step, "loss": loss, "accuracy": 0.5, "lr": 0.1,
                "examples_per_s": 10.0, "step_time_s": 0.1}

    first = tracking.TensorBoard(tmp_path)
    for step in range(1, 11):
        first.write(row(step, 1.0))
    first.close()  # a crash after step 10; the checkpoint was at step 6
    again = tracking.TensorBoard(tmp_path, purge_step=7)
    for step in range(7, 13):
        again.write(row(step, 2.0))
    again.close()
    got = [(e.step, e.value) for e in events(tmp_path / "tensorboard").Scalars("train/loss")]
    assert got == [(s, 1.0) for s in range(1, 7)] + [(s, 2.0) for s in range(7, 13)]


def test_wandb_offline_run_gets_the_scalars_and_the_alarm(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    w = tracking.WandB("lra-test", tmp_path / "run", {"task": "listops"})
    w.write({"split": "val", "epoch": 3, "step": 30, "loss": 1.5, "accuracy": 0.2,
             "count": 40, "behind_sanity": True, "sanity_expected": 0.3})
    w.write({"split": "train", "epoch": 4, "step": 31, "loss": 1.4, "accuracy": 0.25,
             "lr": 0.1, "lr_groups": {"default": 0.1, "ssm": 0.01}, "examples_per_s": 9.0,
             "step_time_s": 0.2})  # a later step commits the earlier one
    assert w.run.id == tracking.run_id(tmp_path / "run")
    assert w.run.summary["val/accuracy"] == 0.2 and w.run.summary["alarm/behind_sanity"] == 1.0
    assert w.run.config["task"] == "listops"
    w.close()


def test_a_missing_library_is_a_one_line_config_error(monkeypatch, tmp_path):
    import builtins

    real = builtins.__import__

    def no_tensorboardx(name, *args, **kwargs):
        if name == "tensorboardX":
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboardx)
    with pytest.raises(tracking.ConfigError, match="train.tensorboard=false"):
        tracking.TensorBoard(tmp_path)


def test_profile_steps_writes_a_trace_tensorboard_can_open(listops_data, tmp_path, capsys):
    workdir = tmp_path / "run"
    assert main(["train", "--task", "listops", "--config", "smoke", "--data-dir",
                 str(listops_data), "--workdir", str(workdir), *ARGS,
                 "--set", "train.epochs=1", "--set", "train.profile_steps=2:4"]) == 0
    (trace,) = (workdir / "profile" / "plugins" / "profile").iterdir()
    assert list(trace.glob("*.xplane.pb")) and list(trace.glob("*.trace.json.gz"))
    assert "profile of steps 2..3" in capsys.readouterr().out
    code = main(["train", "--task", "listops", "--config", "smoke", "--data-dir",
                 str(listops_data), "--workdir", str(tmp_path / "other"),
                 "--set", "train.profile_steps=5:5"])
    assert code == 2 and "train.profile_steps='5:5'" in capsys.readouterr().err
