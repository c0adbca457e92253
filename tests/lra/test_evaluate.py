"""evaluate and predict on saved runs: the trainer's logged accuracies come back exactly; other
data (another Pathfinder difficulty) can be scored; nothing already written is replaced."""

import csv
import json

import numpy as np
import pytest

from lra.cli import main
from tasks.generators import listops as gen
from tasks.generators import pathfinder as pf_gen

ARGS = ["--set", "train.epochs=2", "--set", "train.batch_size=16", "--set",
        "train.eval_batch_size=24", "--set", "train.log_every=3", "--set", "model.dropout=0.1"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def listops_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("listops")
    gen.generate(root / "data", train=96, val=40, test=50, min_length=5, max_length=40,
                 max_depth=4, seed=0)
    assert main(["train", "--task", "listops", "--config", "smoke", "--data-dir",
                 str(root / "data"), "--workdir", str(root / "run"), *ARGS]) == 0
    return root / "run"


def test_evaluate_gives_back_the_logged_accuracies_exactly(listops_run, capsys):
    result = json.loads((listops_run / "result.json").read_text())
    code, out, err = run(capsys, "evaluate", "--workdir", listops_run)
    assert code == 0, err
    record = json.loads((listops_run / "eval-test-best.json").read_text())
    assert record["accuracy"] == result["test_accuracy"] == record["logged_accuracy"]
    assert record["count"] == 50 and record["own_data"] and "(= the logged accuracy)" in out
    code, out, err = run(capsys, "evaluate", "--workdir", listops_run, "--split", "val")
    assert json.loads((listops_run / "eval-val-best.json").read_text())["accuracy"] == \
        result["val_accuracy"]
    code, out, err = run(capsys, "evaluate", "--workdir", listops_run, "--checkpoint", "latest")
    latest = json.loads((listops_run / "eval-test-latest.json").read_text())
    assert latest["accuracy"] == result["test_accuracy_last_epoch"]
    assert latest["step"] == result["steps"] and latest["epochs_trained"] == 2
    best_step = record["step"]
    code, out, err = run(capsys, "evaluate", "--workdir", listops_run, "--checkpoint", best_step)
    assert json.loads((listops_run / f"eval-test-{best_step}.json").read_text())["accuracy"] == \
        record["accuracy"]
    code, out, err = run(capsys, "evaluate", "--workdir", listops_run)  # the same again: fine
    assert code == 0, err
    code, out, err = run(capsys, "evaluate", "--workdir", listops_run, "--split", "train",
                         "--out", listops_run / "eval-test-best.json")
    assert code == 2 and "holds another evaluation (step" in err
    kept = json.loads((listops_run / "eval-test-best.json").read_text())
    assert (kept["split"], kept["accuracy"]) == ("test", record["accuracy"])


@pytest.mark.parametrize(("argv", "message"), [
    (["--checkpoint", "999"], "holds no such checkpoint; it holds: latest (step 12)"),
    (["--set", "model.d_model=8"], "only data.* keys can change here"),
])
def test_bad_evaluate_requests_are_one_line_errors(listops_run, capsys, argv, message):
    code, _, err = run(capsys, "evaluate", "--workdir", listops_run, *argv)
    assert code == 2 and message in err and err.count("\n") == 1


def test_predict_writes_one_row_per_example_that_scores_as_evaluate(listops_run, tmp_path,
                                                                    capsys):
    out = tmp_path / "preds.csv"
    code, _, err = run(capsys, "predict", "--workdir", listops_run, "--out", out)
    assert code == 0, err
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 50 and [int(r["index"]) for r in rows] == list(range(50))
    probs = np.array([[float(r[f"p_{c}"]) for c in range(10)] for r in rows])
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    assert all(int(r["predicted"]) == int(p.argmax()) for r, p in zip(rows, probs, strict=True))
    accuracy = np.mean([r["label"] == r["predicted"] for r in rows])
    assert accuracy == json.loads((listops_run / "result.json").read_text())["test_accuracy"]
    code, _, err = run(capsys, "predict", "--workdir", listops_run, "--out", out)
    assert code == 2 and "exists; nothing was changed" in err


def test_a_pathfinder_model_scores_another_difficulty(tmp_path, capsys):
    data = tmp_path / "data"
    for difficulty in ("curv_contour_length_14", "curv_baseline"):
        pf_gen.generate(data, resolution=32, difficulty=difficulty, n=40, seed=1, per_batch=20,
                        workers=1)
    workdir = tmp_path / "run"
    code, _, err = run(capsys, "train", "--task", "pathfinder", "--config", "smoke",
                       "--data-dir", data, "--workdir", workdir)
    assert code == 0, err
    own = json.loads((workdir / "result.json").read_text())["test_accuracy"]
    code, out, err = run(capsys, "evaluate", "--workdir", workdir, "--set",
                         "data.difficulty=curv_baseline")
    assert code == 0, err
    (path,) = workdir.glob("eval-test-best-difficulty=curv_baseline-data*.json")
    other = json.loads(path.read_text())
    assert other["data"]["difficulty"] == "curv_baseline" and not other["own_data"]
    assert other["logged_accuracy"] is None and other["count"] == 4
    code, out, err = run(capsys, "evaluate", "--workdir", workdir)
    assert json.loads((workdir / "eval-test-best.json").read_text())["accuracy"] == own
