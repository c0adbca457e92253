"""The shape of the code: import layers without cycles, short functions, a light command line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_listops_release

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("jax", "jaxlib", "flax", "orbax", "optax", "pandas", "matplotlib", "tensorflow_datasets")


def test_import_layers_hold_and_there_is_no_import_cycle():
    # tasks/ and models/ never import lra/ or each other; no module imports one that imports
    # it back, lazily (inside a function) or not. Configured in pyproject.toml.
    out = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "Contracts: 2 kept, 0 broken." in out.stdout


def test_no_function_is_longer_than_60_lines():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import function_lengths
    finally:
        sys.path.pop(0)
    assert function_lengths.too_long(60) == []
    assert function_lengths.lengths()[0][1] == "lra/cli.py:parser"  # the one exemption, in use


def loaded_by(argv: list[str], cwd: Path) -> list[str]:
    """The heavy top-level modules that `python -m lra ARGV` has imported when it is done; the
    command must succeed."""
    code = ("import json, sys\nfrom lra.cli import main\ntry:\n    code = main(sys.argv[1:])\n"
            "except SystemExit as e:\n    code = e.code\n"
            "print(json.dumps([code, sorted({m.split('.')[0] for m in sys.modules})]))")
    out = subprocess.run([sys.executable, "-c", code, *argv], cwd=cwd, capture_output=True,
                         text=True, env={"LRA_CACHE_DIR": str(cwd / "cache"),
                                         "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-2000:]
    code, modules = json.loads(out.stdout.splitlines()[-1])
    assert code == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return [m for m in modules if m in HEAVY]


@pytest.mark.parametrize("argv", [
    ["--help"],
    ["train", "--help"],
    ["data", "generate", "--task", "listops", "--out", "{tmp}/gen", "--train", "8", "--val",
     "2", "--test", "2", "--min-length", "3", "--max-length", "20", "--max-depth", "3"],
    ["data", "check", "--task", "listops", "--data-dir", "{tmp}"],
    ["data", "show", "--task", "pathfinder", "--n", "2", "--out", "{tmp}/show.png"],
    ["tasks"],
    ["config", "--task", "pathx"],
    ["bench", "--dryrun-table", str(ROOT / "results" / "bench" / "dryrun-cpu-2core.jsonl")],
    ["bench", "--tune-table", str(ROOT / "results" / "bench" / "tune-cpu-2core.jsonl")],
])
def test_the_light_commands_load_neither_jax_nor_orbax(argv, tmp_path):
    write_listops_release(tmp_path)  # for data check
    assert loaded_by([a.replace("{tmp}", str(tmp_path)) for a in argv], tmp_path) == []
