"""The command line: the names users rely on, and one-line errors with exit code 2."""

import json

import pytest
from PIL import Image

from lra.cli import main
from tests import formats


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_train_smoke_on_release_format_files(listops_release, tmp_path, capsys):
    code, out, _ = run(
        capsys, "train", "--task", "listops", "--config", "smoke", "--data-dir",
        str(listops_release), "--workdir", str(tmp_path / "run"), "--seed", "5",
        "--set", "train.batch_size=4", "--set", "train.eval_batch_size=4",
    )
    assert code == 0, out
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["seed"] == 5 and result["data"]["kind"] == "release"
    assert result["steps"] == 2  # 10 rows, batch 4, incomplete batch dropped


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--set", "model.depth=3"], "error: --set model.depth: unknown config key"),
        (["--config", "tiny"], "error: listops has no config 'tiny'"),
    ],
)
def test_config_errors_are_one_line(listops_release, tmp_path, capsys, extra, message):
    code, _, err = run(capsys, "train", "--task", "listops", "--data-dir", str(listops_release),
                       "--workdir", str(tmp_path / "run"), *extra)
    assert code == 2 and err.startswith(message) and err.count("\n") == 1


def test_data_errors_name_the_file_and_line(listops_release, tmp_path, capsys):
    code, _, err = run(capsys, "train", "--task", "listops", "--config", "smoke",
                       "--data-dir", str(tmp_path / "missing"), "--workdir", str(tmp_path / "r"))
    assert code == 2 and "does not exist" in err and "python -m lra data generate" in err
    bad = listops_release / "listops-1000" / "basic_train.tsv"
    bad.write_text(bad.read_text() + "( ( ( [MAX 2 ) 9 ) ] )\tnine\n")
    code, _, err = run(capsys, "train", "--task", "listops", "--config", "smoke",
                       "--data-dir", str(listops_release), "--workdir", str(tmp_path / "r"))
    assert code == 2 and f"{bad}:12: Target must be an integer 0-9" in err
    assert err.count("\n") == 1


def test_generate_then_report(tmp_path, capsys):
    code, out, _ = run(capsys, "data", "generate", "--task", "listops", "--out", str(tmp_path),
                       "--train", "8", "--val", "2", "--test", "2", "--min-length", "3",
                       "--max-length", "20", "--max-depth", "3", "--seed", "1")
    assert code == 0 and "wrote 12 ListOps examples" in out
    assert (tmp_path / "listops-1000" / "basic_val.tsv").read_text().startswith("Source\tTarget\n")
    code, _, err = run(capsys, "data", "generate", "--task", "listops", "--out", str(tmp_path),
                       "--min-length", "30", "--max-length", "20")
    assert code == 2 and "min_length" in err
    code, _, err = run(capsys, "report", "--runs", str(tmp_path / "none"), "--out", str(tmp_path))
    assert code == 2 and "does not exist" in err


TASK_FIXTURES = {
    "text": lambda d: formats.write_aclimdb(d),
    "retrieval": lambda d: formats.write_aan(d),
    "image": lambda d: formats.write_cifar_batches(d, per_batch=1010),
    "scifar": lambda d: formats.write_cifar_batches(d, per_batch=1010),
    "pathfinder": lambda d: formats.write_pathfinder(d),
    "pathx": lambda d: formats.write_pathfinder(d, resolution=128, batches=1, empty=()),
}


@pytest.mark.parametrize("task", sorted(TASK_FIXTURES))
def test_every_task_checks_and_trains_its_smoke_config(task, tmp_path, capsys):
    data = tmp_path / "data"
    TASK_FIXTURES[task](data)
    code, out, err = run(capsys, "data", "check", "--task", task, "--data-dir", str(data))
    assert code == 0, err
    assert "train" in out and "cache:" in out
    assert out.rstrip().endswith("--strict makes that an error)")
    code, _, err = run(capsys, "data", "check", "--task", task, "--data-dir", str(data), "--strict")
    assert code == 2 and "split sizes differ from the LRA release" in err
    extra = ["--set", "train.epochs=1"]
    if task in ("image", "scifar"):  # 50 train images: keep the CPU test short
        extra += ["--set", "train.batch_size=25", "--set", "train.eval_batch_size=500"]
    if task == "image":  # the full config's model options: LayerNorm (no batch stats), dropout
        extra += ["--set", "model.norm=layer", "--set", "model.dropout=0.1",
                  "--set", "model.n_ssm=2"]
    code, out, err = run(capsys, "train", "--task", task, "--config", "smoke", "--data-dir",
                         str(data), "--workdir", str(tmp_path / "run"), *extra)
    assert code == 0, err
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["steps"] >= 1 and 0 <= result["test_accuracy"] <= 1
    assert result["data"]["split_rule"]


def test_data_check_names_the_bad_file(tmp_path, capsys):
    formats.write_aan(tmp_path, bad_line="1\tW\tP\tshort")
    code, _, err = run(capsys, "data", "check", "--task", "retrieval", "--data-dir", str(tmp_path))
    assert code == 2 and "new_aan_pairs.train.tsv:13: expected 5 tab-separated columns" in err
    code, _, err = run(capsys, "data", "check", "--task", "pathx", "--data-dir", str(tmp_path))
    assert code == 2 and "holds no pathfinder128" in err and "lra_release.gz" in err


def test_generate_show_and_train_pathfinder(tmp_path, capsys):
    data = tmp_path / "data"
    code, out, err = run(capsys, "data", "generate", "--task", "pathfinder", "--difficulty",
                         "curv_baseline", "--n", "40", "--per-batch", "20", "--workers", "1",
                         "--out", str(data), "--seed", "1")
    assert code == 0, err
    assert "wrote 40 images to" in out and "images/s per worker" in out
    folder = data / "pathfinder32" / "curv_baseline"
    assert len(list(folder.glob("imgs/*/*.png"))) == 40
    assert sorted(p.name for p in (folder / "metadata").iterdir()) == ["0.npy", "1.npy"]

    for source in (["--data-dir", str(data), "--difficulty", "curv_baseline"], ["--seed", "3"]):
        out_png = tmp_path / f"show{len(source)}.png"
        code, out, err = run(capsys, "data", "show", "--task", "pathfinder", "--n", "6",
                             "--out", str(out_png), *source)
        assert code == 0, err
        with Image.open(out_png) as im:  # 6 tiles of 32·5 px in one row, captions under them
            assert im.size == (6 * (160 + 4) + 4, 160 + 14 + 8)
    code, _, err = run(capsys, "data", "show", "--task", "pathfinder", "--data-dir", str(data),
                       "--out", str(tmp_path / "x.png"))  # curv_contour_length_14 not generated
    assert code == 2 and "curv_contour_length_14 is missing" in err and "data generate" in err

    code, _, err = run(capsys, "train", "--task", "pathfinder", "--config", "smoke", "--data-dir",
                       str(data), "--workdir", str(tmp_path / "run"),
                       "--set", "data.difficulty=curv_baseline")
    assert code == 0, err
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["data"]["kind"] == "generated" and result["data"]["difficulty"] == "curv_baseline"
    assert result["data"]["sizes"] == {"train": 32, "val": 4, "test": 4}
    code, _, err = run(capsys, "train", "--task", "listops", "--config", "smoke", "--data-dir",
                       str(data), "--workdir", str(tmp_path / "run2"),
                       "--set", "data.difficulty=curv_baseline")
    assert code == 2 and "listops has no data options" in err and err.count("\n") == 1
    assert not (tmp_path / "run2").exists()
