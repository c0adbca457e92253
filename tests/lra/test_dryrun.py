"""The dry run: compiles and times the real training step, predicts the run, writes nothing.
(Its JSON through the command line is checked in tests/tools/test_device_check.py.)"""

import pytest

from lra.cli import main
from lra.configs import get_config, override
from lra.dryrun import dry_run, report
from tasks.generators import listops as gen


def test_the_report_says_what_to_change_when_it_does_not_fit():
    cfg = get_config("listops", "smoke", ["train.batch_size=16"])
    whole = dry_run(cfg, steps=1)
    activations = whole["peak_bytes"] - whole["fixed_bytes"]
    limit = whole["fixed_bytes"] + int(0.4 * activations)
    tight = dry_run(override(cfg, [f"train.memory_limit={limit}"]), steps=1)
    assert tight["memory_from"] == "train.memory_limit" and tight["memory_bytes"] == limit
    k = tight["grad_accum_to_fit"]
    assert not tight["fits"] and k in (4, 8, 16)
    assert tight["timed_grad_accum"] == k and tight["step_s"] > 0  # timed as it would fit
    text = "\n".join(report(tight))
    assert f"does not fit: try train.grad_accum={k} or model.remat=true" in text
    # The estimate holds: compiled with that many micro-batches, the step fits the same limit.
    again = dry_run(get_config("listops", "smoke", ["train.batch_size=16",
                                                    f"train.grad_accum={k}",
                                                    f"train.memory_limit={limit}"]), steps=1)
    assert again["fits"], (again["peak_bytes"], limit)
    # The bytes and operations the timed step moves, as XLA counts them (lra/hlo_cost.py): its
    # k micro-batches run in a loop, each counted, so the same work as the plain step.
    assert again["flops"] == tight["flops"] == pytest.approx(whole["flops"], rel=0.1)
    assert whole["bytes_per_s"] == whole["bytes_accessed"] / whole["step_s"] > 0
    assert f"{whole['bytes_accessed'] / 1e9:,.1f} GB, " in "\n".join(report(whole))
    # Where they go, on this device's own program, the grad_accum loop's too (lra/hlo_cost.py).
    for r in (whole, again):
        parts = r["bytes_by_part"]
        assert sum(p["bytes"] for p in parts) == pytest.approx(r["bytes_accessed"], rel=0.02)
        assert parts[0]["part"].startswith("SequenceClassifier/backbone/block_*/")
    assert "  bytes by part   conv=" in "\n".join(report(whole))


def test_given_the_data_it_predicts_from_its_sizes(tmp_path, capsys):
    gen.generate(tmp_path / "data", train=96, val=40, test=20, min_length=5, max_length=40,
                 max_depth=4, seed=0)
    assert main(["train", "--task", "listops", "--config", "full", "--dry-run", "--data-dir",
                 str(tmp_path / "data"), "--workdir", str(tmp_path / "run"),
                 "--set", "model.n_layers=1", "--set", "model.remat=false", "--set",
                 "model.d_model=16", "--set", "train.batch_size=8",
                 "--set", "train.eval_batch_size=8", "--dry-run-steps", "1"]) == 0
    out = capsys.readouterr().out
    assert "epoch           12 steps:" in out and "train 96, val 40, test 20" in out
    assert "S4 reports      15 min (T4) per epoch" in out
    assert not (tmp_path / "run").exists()  # a dry run writes nothing
    assert main(["train", "--task", "listops", "--config", "smoke"]) == 2
    assert "train needs --data-dir (--dry-run does not)" in capsys.readouterr().err
