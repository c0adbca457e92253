"""XLA's persistent compilation cache for runs (lra/compile_cache.py): where it lives, its
errors, and two runs of one config, the second reading the first one's programs back."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lra import compile_cache
from lra.errors import ConfigError
from tests.conftest import write_listops_release

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_cache_variables(monkeypatch):
    for name in ("LRA_COMPILE_CACHE", "JAX_COMPILATION_CACHE_DIR", "LRA_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_the_cache_directory_follows_its_order(no_cache_variables, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert compile_cache.where() == tmp_path / "home" / ".cache" / "lra-s4d" / "xla"
    monkeypatch.setenv("LRA_CACHE_DIR", str(tmp_path / "data-cache"))
    assert compile_cache.where() == tmp_path / "data-cache" / "xla"  # beside the data cache
    monkeypatch.setenv("LRA_COMPILE_CACHE", str(tmp_path / "mine"))
    assert compile_cache.where() == tmp_path / "mine"
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "jax"))
    assert compile_cache.where() == "jax"  # JAX's own setting is left to JAX
    monkeypatch.setenv("LRA_COMPILE_CACHE", "off")
    assert compile_cache.where() is None  # off, whatever else is set


def test_a_cache_directory_that_cannot_be_made_is_a_one_line_error(no_cache_variables,
                                                                     monkeypatch, tmp_path):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("LRA_COMPILE_CACHE", str(tmp_path / "a-file" / "xla"))
    with pytest.raises(ConfigError, match=r"^LRA_COMPILE_CACHE: cannot make the compile cache "
                       r".*a-file/xla \(Not a directory\); set LRA_COMPILE_CACHE to a directory "
                       r"of your own, or to off$"):
        compile_cache.enable()


def train(tmp_path: Path, name: str, **env: str) -> dict:
    """`python -m lra train` of the ListOps smoke config in a process of its own (a cache
    directory is set once per process), with JAX's own cache variable unset; its result.json."""
    variables = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    out = subprocess.run(
        [sys.executable, "-m", "lra", "train", "--task", "listops", "--config", "smoke",
         "--data-dir", str(tmp_path / "data"), "--workdir", str(tmp_path / name),
         "--set", "train.epochs=2", "--set", "train.tensorboard=false"],
        cwd=ROOT, capture_output=True, text=True,
        env={**variables, "LRA_CACHE_DIR": str(tmp_path / "cache"), **env})
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads((tmp_path / name / "result.json").read_text())
    return {**result, "log": out.stdout}


def learned(result: dict) -> tuple:
    return (result["train_loss_by_epoch"], result["val_accuracy"], result["test_accuracy"],
            result["best_epoch"])


def test_a_second_run_reads_the_first_ones_programs_back_and_computes_the_same(tmp_path):
    write_listops_release(tmp_path / "data")
    # Every program kept, however fast it compiles: at the 0.2 s default, one that compiled
    # just under it in the first run and just over it in the second is written by the second.
    keep_all = {"JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    first = train(tmp_path, "first", **keep_all)
    second = train(tmp_path, "second", **keep_all)
    xla = tmp_path / "cache" / "xla"
    assert first["provenance"]["compile_cache"] == second["provenance"]["compile_cache"] == \
        str(xla)
    assert first["compile_cache"]["written"] > 0 and any(xla.iterdir())
    # The second run compiles nothing that the first one kept: it reads all of it back.
    assert second["compile_cache"]["written"] == 0
    assert second["compile_cache"]["hits"] >= first["compile_cache"]["written"]
    assert second["compile_cache"]["saved_s"] > 0
    assert f"{second['compile_cache']['hits']} programs read back" in second["log"]
    assert learned(second) == learned(first)  # the same executables, the same numbers

    off = train(tmp_path, "off", LRA_COMPILE_CACHE="off")
    assert off["provenance"]["compile_cache"] is None and off["compile_cache"] is None
    assert "compile cache" not in off["log"]
    assert learned(off) == learned(first)
