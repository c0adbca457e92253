"""Shared fixtures. Data fixtures are written in the exact on-disk formats of the LRA release."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# The suite's time goes mostly to compiling small programs, and most of that to LLVM's
# optimisation of the generated CPU code. The tests compile with it off: XLA's own passes (fusion,
# buffer assignment, so the memory plans the tests check) run as in a user's run. Values can
# differ in the last bits: in a 2-epoch ListOps smoke run, 2 of the 10 logged losses differed, in
# the 7th digit. On 2 cores, the suite took 8 min 42 s with LLVM's optimisation and 6 min 41 s
# without. XLA_FLAGS naming a level keeps that level: with
# XLA_FLAGS=--xla_backend_optimization_level=3 the tests compile as a run does.
TEST_XLA_FLAG = "--xla_backend_optimization_level=0"


def pytest_configure(config):
    """One XLA compilation cache for the session, this process and the ones it starts: many
    tests compile the same smoke model, and a program compiled once is then read back (JAX's
    persistent cache, keyed by the program, its options and the jax version). XLA_FLAGS gets
    TEST_XLA_FLAG, here and in every process a test starts."""
    config._xla_cache = tempfile.mkdtemp(prefix="lra-test-xla-")
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", config._xla_cache)
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_backend_optimization_level" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {TEST_XLA_FLAG}".strip()


def pytest_unconfigure(config):
    shutil.rmtree(getattr(config, "_xla_cache", ""), ignore_errors=True)

# Rows typed by hand in the release's format (lra-reference §2.1): header, tab, every
# (partial expression, argument) pair wrapped in round brackets, `]` closing each operator.
RELEASE_ROWS = [
    ("( ( ( [MAX 2 ) 9 ) ] )", 9),
    ("( ( ( [MIN 2 ) 9 ) ] )", 2),
    ("( ( ( ( [SM 7 ) 5 ) 3 ) ] )", 5),
    ("( ( ( ( ( [MED 1 ) 8 ) 3 ) 4 ) ] )", 3),
    ("( ( ( [MIN ( ( ( [MAX 2 ) 9 ) ] ) ) 4 ) ] )", 4),
    ("( ( ( ( [MAX 0 ) 1 ) ( ( ( [SM 6 ) 7 ) ] ) ) ] )", 3),
    ("( ( ( [MED 6 ) 2 ) ] )", 4),
    ("( ( ( ( [SM ( ( ( [MIN 5 ) 8 ) ] ) ) 9 ) 9 ) ] )", 3),
    ("( ( ( [MAX ( ( ( ( [MED 1 ) 2 ) 3 ) ] ) ) 0 ) ] )", 2),
    ("( ( ( ( [MIN 9 ) 8 ) 7 ) ] )", 7),
]


def write_listops_release(root: Path, rows=RELEASE_ROWS, nested: bool = False) -> Path:
    """Writes listops-1000/basic_{train,val,test}.tsv under root (or the tarball's nesting)."""
    folder = root / ("lra_release/lra_release/listops-1000" if nested else "listops-1000")
    folder.mkdir(parents=True)
    for split in ("train", "val", "test"):
        lines = ["Source\tTarget"] + [f"{src}\t{tgt}" for src, tgt in rows]
        (folder / f"basic_{split}.tsv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own array cache."""
    monkeypatch.setenv("LRA_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def listops_data(tmp_path_factory) -> Path:
    """Generated ListOps in the release layout: 96/40/40 short expressions (lengths 5-40, depth
    4, seed 0), shared by a test module's training runs."""
    from tasks.generators import listops

    root = tmp_path_factory.mktemp("gen")
    listops.generate(root, train=96, val=40, test=40, min_length=5, max_length=40, max_depth=4,
                     seed=0)
    return root


@pytest.fixture
def listops_release(tmp_path) -> Path:
    """A data dir holding listops-1000/ in the release format; returns the data dir."""
    write_listops_release(tmp_path / "data")
    return tmp_path / "data"
