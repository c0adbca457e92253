"""train_and_evaluate end to end on the smoke config, and its records."""

import json

import numpy as np
import pytest

from lra.configs import get_config
from lra.errors import TrainingError
from lra.records import read_metrics
from lra.train import train_and_evaluate

SMOKE = ["train.epochs=2", "train.batch_size=16", "train.eval_batch_size=32", "train.log_every=2"]


def test_smoke_run_writes_consistent_records(listops_data, tmp_path, monkeypatch):
    monkeypatch.setenv("LRA_CACHE_DIR", str(tmp_path / "cache"))
    cfg = get_config("listops", "smoke", SMOKE)
    result = train_and_evaluate(cfg, tmp_path / "run", listops_data, log=lambda *_: None)

    on_disk = json.loads((tmp_path / "run" / "result.json").read_text())
    assert on_disk["test_accuracy"] == result["test_accuracy"]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["epochs"] == 2
    groups = json.loads((tmp_path / "run" / "param_groups.json").read_text())
    assert set(groups.values()) == {"ssm", "dt", "default"}

    rows = read_metrics(tmp_path / "run" / "metrics.jsonl")
    train_rows = [r for r in rows if r["split"] == "train"]
    assert [r["step"] for r in train_rows] == [2, 4, 6, 8, 10, 12]  # 96 // 16 = 6 steps/epoch
    assert all(np.isfinite(r["loss"]) for r in train_rows)
    evals = {(r["split"], r["epoch"]): r for r in rows if r["split"] != "train"}
    assert all(r["count"] == 40 for r in evals.values())  # every example, no partial drop
    best = max((1, 2), key=lambda e: (evals[("val", e)]["accuracy"], -e))
    assert result["best_epoch"] == best
    assert result["test_accuracy"] == evals[("test", best)]["accuracy"]
    assert result["steps"] == 12 and result["epochs_completed"] == 2
    assert result["data"]["kind"] == "generated" and result["data"]["sizes"]["train"] == 96
    prov = result["provenance"]
    assert prov["versions"]["jax"] and prov["device"]["platform"] == "cpu"
    assert result["wall_time_s"] > 0 and result["num_params"] > 0


def test_same_seed_same_run(listops_data, tmp_path):
    cfg = get_config("listops", "smoke", [*SMOKE, "train.epochs=1"])
    a = train_and_evaluate(cfg, tmp_path / "a", listops_data, log=lambda *_: None)
    b = train_and_evaluate(cfg, tmp_path / "b", listops_data, log=lambda *_: None)
    la = [r["loss"] for r in read_metrics(tmp_path / "a" / "metrics.jsonl")]
    lb = [r["loss"] for r in read_metrics(tmp_path / "b" / "metrics.jsonl")]
    np.testing.assert_allclose(la, lb, rtol=1e-5)
    assert a["test_accuracy"] == b["test_accuracy"]


def test_refuses_to_overwrite_a_run(listops_data, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.jsonl").write_text("{}\n")
    with pytest.raises(TrainingError, match="holds a run without a checkpoint"):
        train_and_evaluate(get_config("listops", "smoke"), tmp_path / "run", listops_data)
    assert (tmp_path / "run" / "metrics.jsonl").read_text() == "{}\n"


def test_non_finite_loss_stops_the_run(listops_data, tmp_path):
    cfg = get_config("listops", "smoke", [*SMOKE, "optim.lr=1e30", "optim.warmup_steps=0"])
    with pytest.raises(TrainingError, match=r"non-finite loss or gradients at step \d+ .*"
                                            r"gradients not finite for \d+ of \d+ parameters"):
        train_and_evaluate(cfg, tmp_path / "run", listops_data, log=lambda *_: None)
    assert not (tmp_path / "run" / "result.json").exists()
