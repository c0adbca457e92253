"""Adding a task is one adapter file, one config file and one registry line (docs/adding-a-task.md):
the guide shows the repository's sCIFAR files exactly, and a copy of them under a new name trains,
is listed and is reported with no other change."""

import importlib
import json
import re
from pathlib import Path

import pytest

import lra.configs
import tasks
from lra.cli import main
from lra.report.write import write_report
from tests import formats

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "adding-a-task.md").read_text()


def blocks(heading: str) -> list[str]:
    """The python code blocks of the guide's section that starts with `heading`."""
    section = GUIDE.split(f"\n## {heading}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_guide_shows_the_files_as_they_are():
    assert blocks("1. The adapter")[0] == (ROOT / "tasks" / "scifar.py").read_text()
    assert blocks("3. The configs")[0] == (ROOT / "lra" / "configs" / "scifar.py").read_text()
    (line,) = blocks("2. The registry line")
    assert line in (ROOT / "tasks" / "__init__.py").read_text()


@pytest.fixture
def new_task(tmp_path, monkeypatch):
    """The guide's two files under the name 'colour', placed as a user would (the packages'
    search paths stand for the two folders) and registered with the guide's one line."""
    for package, source in ((tasks, blocks("1. The adapter")[0]),
                            (lra.configs, blocks("3. The configs")[0])):
        folder = tmp_path / package.__name__.replace(".", "_")
        folder.mkdir()
        (folder / "colour.py").write_text(source.replace("scifar", "colour")
                                          .replace('"sCIFAR"', '"Colour"'))
        monkeypatch.setattr(package, "__path__", [*package.__path__, str(folder)])
    adapter = importlib.import_module("tasks.colour")
    monkeypatch.setitem(tasks.TASKS, "colour", adapter.TASK)  # the registry line
    yield "colour"
    for name in ("tasks.colour", "lra.configs.colour"):
        importlib.sys.modules.pop(name, None)


def test_a_new_task_needs_nothing_else(new_task, tmp_path, capsys):
    data = tmp_path / "data"
    formats.write_cifar_batches(data, per_batch=1010)
    assert main(["tasks"]) == 0
    assert "colour      Colour      10 classes, length  1,024, 3 channel(s)" in \
        capsys.readouterr().out
    assert main(["data", "check", "--task", new_task, "--data-dir", str(data)]) == 0
    assert main(["config", "--task", new_task, "--config", "smoke"]) == 0
    assert "task = 'colour'" in capsys.readouterr().out
    workdir = tmp_path / "runs" / "colour-smoke"
    assert main(["train", "--task", new_task, "--config", "smoke", "--data-dir", str(data),
                 "--workdir", str(workdir), "--set", "train.batch_size=25",
                 "--set", "train.eval_batch_size=500"]) == 0
    result = json.loads((workdir / "result.json").read_text())
    assert result["task"] == "colour" and result["steps"] == 2
    table = write_report(tmp_path / "runs", tmp_path / "out")  # not an LRA task: no column
    assert "Colour" not in table.columns and list(table.columns)[2] == "ListOps"
