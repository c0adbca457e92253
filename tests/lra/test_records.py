"""Run records: atomic JSON, the metrics file and its cut-back, provenance."""

import json

import pytest

from lra import records


def test_write_json_replaces_a_record_whole(tmp_path):
    path = tmp_path / "run" / "result.json"
    records.write_json(path, {"test_accuracy": 0.5, "when": tmp_path})  # Paths become strings
    assert json.loads(path.read_text()) == {"test_accuracy": 0.5, "when": str(tmp_path)}
    circular: dict = {}
    circular["self"] = circular
    with pytest.raises(ValueError, match="Circular reference"):  # fails while writing
        records.write_json(path, circular)
    assert json.loads(path.read_text())["test_accuracy"] == 0.5  # the old record is intact
    assert [p.name for p in path.parent.iterdir()] == ["result.json"]


def test_metrics_file_opens_at_the_first_row_and_appends(tmp_path):
    path = tmp_path / "metrics.jsonl"
    log = records.MetricsFile(path)
    assert not path.exists()  # a resumed run cuts the file back before the first row
    log.write({"split": "train", "step": 1, "loss": 2.0})
    assert path.read_text() == '{"loss": 2.0, "split": "train", "step": 1}\n'  # flushed
    log.close()
    log = records.MetricsFile(path)
    log.write({"split": "val", "step": 1, "epoch": 1})
    log.close()
    assert [r["split"] for r in records.read_metrics(path)] == ["train", "val"]


def test_read_metrics_skips_only_a_torn_last_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"step": 2}\n{"ste')
    assert records.read_metrics(path) == [{"step": 1}, {"step": 2}]
    path.write_text('{"step": 1}\n{"ste\n{"step": 3}\n')
    with pytest.raises(json.JSONDecodeError):  # damage elsewhere is not a crash mid-write
        records.read_metrics(path)


def test_truncate_keeps_what_a_checkpoint_covers(tmp_path):
    path = tmp_path / "metrics.jsonl"
    rows = [{"split": "train", "epoch": 1, "step": 5}, {"split": "val", "epoch": 1, "step": 10},
            {"split": "test", "epoch": 1, "step": 10}, {"split": "train", "epoch": 2, "step": 15},
            {"split": "train", "epoch": 2, "step": 20}, {"split": "val", "epoch": 2, "step": 20}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    records.truncate_metrics(path, step=15, epochs_done=1)
    assert records.read_metrics(path) == rows[:4]
    records.truncate_metrics(tmp_path / "none.jsonl", step=1, epochs_done=0)  # no file: no-op
    assert not (tmp_path / "none.jsonl").exists()


def test_provenance_names_code_packages_and_devices():
    prov = records.provenance()
    assert len(prov["commit"]) == 40 and isinstance(prov["dirty"], bool)
    assert prov["versions"]["jax"] and prov["versions"]["python"]
    assert prov["device"]["platform"] == "cpu" and prov["device"]["count"] >= 1
    assert prov["started_utc"].endswith("+00:00")
