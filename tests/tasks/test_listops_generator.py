"""The ListOps generator: LRA's string format, values, length bounds, determinism, round trip."""

import csv

import numpy as np
import pytest

from tasks import listops
from tasks.generators import listops as gen
from tests.conftest import RELEASE_ROWS
from tests.tasks.adapters import load


def stack_eval(tokens: list[str]) -> int:
    """Independent evaluator of the tokenised (bracket-free) form."""
    stack: list = []
    for tok in tokens:
        if tok.startswith("["):
            stack.append([tok])
        elif tok == "X":
            op, *vals = stack.pop()
            v = {"[MIN": min, "[MAX": max, "[SM": lambda x: sum(x) % 10,
                 "[MED": lambda x: sorted(x)[(len(x) - 1) // 2] if len(x) % 2
                 else (sorted(x)[len(x) // 2 - 1] + sorted(x)[len(x) // 2]) // 2}[op](vals)
            if not stack:
                return v
            stack[-1].append(v)
        elif stack:
            stack[-1].append(int(tok))
        else:
            return int(tok)
    raise AssertionError("unbalanced expression")


def test_string_form_matches_the_release():
    t = ("[MIN", [("[MAX", [2, 9]), 4])
    assert gen.to_string(t) == RELEASE_ROWS[4][0]
    assert gen.evaluate(t) == RELEASE_ROWS[4][1]
    t = ("[MAX", [0, 1, ("[SM", [6, 7])])
    assert gen.to_string(t) == RELEASE_ROWS[5][0]
    assert gen.tree_length(t) == len(listops.tokenize(gen.to_string(t))) == 8


def test_median_of_even_count_rounds_down():
    assert gen.evaluate(("[MED", [1, 8, 3, 4])) == 3
    assert gen.evaluate(("[SM", [9, 9, 5])) == 3


def test_hand_rows_agree_with_independent_evaluator():
    for src, target in RELEASE_ROWS:
        assert stack_eval(listops.tokenize(src)) == target


def test_generated_files(tmp_path):
    folder = gen.generate(tmp_path, train=60, val=10, test=10, min_length=10, max_length=40,
                          max_depth=5, seed=3)
    rows = {}
    for split in ("train", "val", "test"):
        with open(folder / f"basic_{split}.tsv", newline="") as f:
            r = list(csv.reader(f, delimiter="\t"))
        assert r[0] == ["Source", "Target"]
        rows[split] = r[1:]
    assert [len(v) for v in rows.values()] == [60, 10, 10]
    all_rows = [row for v in rows.values() for row in v]
    assert len({src for src, _ in all_rows}) == 80  # no duplicates, within or across splits
    for src, target in all_rows:
        toks = listops.tokenize(src)
        assert 10 < len(toks) < 40
        assert stack_eval(toks) == int(target)
        assert src.count("(") == src.count(")")
    # The adapter reads it and says it is generated data.
    data = load(listops, str(tmp_path))
    assert data.source["kind"] == "generated" and data.source["generator"]["seed"] == 3
    assert len(data.splits["train"]) == 60


def test_same_seed_same_bytes(tmp_path):
    kw = dict(train=30, val=5, test=5, min_length=5, max_length=30, max_depth=4)
    a = gen.generate(tmp_path / "a", seed=1, **kw)
    b = gen.generate(tmp_path / "b", seed=1, **kw)
    c = gen.generate(tmp_path / "c", seed=2, **kw)
    for name in ("basic_train.tsv", "basic_test.tsv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
        assert (a / name).read_bytes() != (c / name).read_bytes()
    # A rerun with the same settings (make data twice) leaves the files alone; other settings
    # rewrite them.
    stamp = (a / "basic_train.tsv").stat().st_mtime_ns
    (a / "basic_val.tsv").write_text("touched")
    assert gen.generate(tmp_path / "a", seed=1, **kw) == a
    assert (a / "basic_train.tsv").stat().st_mtime_ns == stamp
    assert (a / "basic_val.tsv").read_text() == "touched"
    gen.generate(tmp_path / "a", seed=2, **kw)
    assert (a / "basic_train.tsv").read_bytes() == (c / "basic_train.tsv").read_bytes()


def test_lra_default_lengths_and_label_spread(tmp_path):
    folder = gen.generate(tmp_path, train=40, val=1, test=1, seed=0)
    with open(folder / "basic_train.tsv", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))[1:]
    lengths = np.array([len(listops.tokenize(s)) for s, _ in rows])
    assert lengths.min() > 500 and lengths.max() < 2000
    assert len({t for _, t in rows}) >= 5
    with pytest.raises(ValueError, match="min_length"):
        gen.generate(tmp_path, min_length=10, max_length=11)
