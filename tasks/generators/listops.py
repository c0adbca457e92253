"""The ListOps generator of LRA (lra-reference §4), seeded, writing the release layout.

The algorithm, from the description of `lra_benchmarks/data/listops.py`:
- A node below max_depth is an operator with probability 0.25, else a leaf digit 0-9; a node at
  max_depth is always a leaf. The root is at depth 1.
- An operator is one of MIN, MAX, MED, SM (sum mod 10) with 2..max_args children.
- Length = 1 per leaf, 2 per operator (itself and its `]`) plus its children's lengths, which is
  the token count once brackets are stripped.
- Trees with min_length < length < max_length (strict) are kept, duplicates dropped, until
  train + val + test distinct trees exist; the splits are consecutive slices in drawing order.
- String form: every (partial expression, next argument) pair is wrapped in round brackets:
  `( ( ( [MAX 2 ) 9 ) ] )`.
Differences, on purpose: LRA's generator is unseeded and dedupes with a Python set, whose order
depends on string hashing; ours draws from random.Random(seed) and keeps insertion order, so the
same arguments always give byte-identical files.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np

OPERATORS: dict[str, Callable[[list[int]], int]] = {
    "[MIN": min,
    "[MAX": max,
    "[MED": lambda v: int(np.median(v)),  # even count: mean of the middle two, rounded down
    "[SM": lambda v: sum(v) % 10,
}
OPERATOR_PROB = 0.25

Tree = int | tuple[str, list["Tree"]]


def sample_tree(rng: random.Random, max_depth: int, max_args: int, depth: int = 1) -> Tree:
    if depth >= max_depth or rng.random() > OPERATOR_PROB:
        return rng.randrange(10)
    op = rng.choice(list(OPERATORS))
    n_args = rng.randint(2, max_args)
    return op, [sample_tree(rng, max_depth, max_args, depth + 1) for _ in range(n_args)]


def tree_length(t: Tree) -> int:
    return 1 if isinstance(t, int) else 2 + sum(tree_length(c) for c in t[1])


def evaluate(t: Tree) -> int:
    return t if isinstance(t, int) else OPERATORS[t[0]]([evaluate(c) for c in t[1]])


def to_string(t: Tree) -> str:
    if isinstance(t, int):
        return str(t)
    op, children = t
    s = f"( {op} {to_string(children[0])} )"
    for child in children[1:]:
        s = f"( {s} {to_string(child)} )"
    return f"( {s} ] )"


def generate(
    out_dir: str | Path,
    *,
    train: int = 96_000,
    val: int = 2_000,
    test: int = 2_000,
    min_length: int = 500,
    max_length: int = 2_000,
    max_depth: int = 10,
    max_args: int = 10,
    seed: int = 0,
    task: str = "basic",
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Writes <out_dir>/listops-1000/<task>_{train,val,test}.tsv and returns that folder.

    Defaults are LRA's. `progress`, if given, is called with the number of new examples kept.
    """
    if not 0 <= min_length < max_length - 1:
        raise ValueError(f"need 0 <= min_length < max_length - 1, got {min_length}, {max_length}")
    params = dict(
        train=train, val=val, test=test, min_length=min_length, max_length=max_length,
        max_depth=max_depth, max_args=max_args, seed=seed, task=task,
    )
    folder = Path(out_dir) / "listops-1000"
    mark = folder / "lra_s4d_generator.json"
    if mark.is_file() and json.loads(mark.read_text()) == {"generator": "listops", **params} and \
            all((folder / f"{task}_{split}.tsv").is_file() for split in ("train", "val", "test")):
        if progress:
            progress(train + val + test)
        return folder  # already generated with these settings: the files would be identical
    rng = random.Random(seed)
    kept: dict[str, int] = {}  # expression -> value; dict keeps drawing order
    total = train + val + test
    while len(kept) < total:
        t = sample_tree(rng, max_depth, max_args)
        if min_length < tree_length(t) < max_length:
            s = to_string(t)
            if s not in kept:
                kept[s] = evaluate(t)
                if progress:
                    progress(1)
    rows = list(kept.items())
    folder.mkdir(parents=True, exist_ok=True)
    bounds = {"train": (0, train), "val": (train, train + val), "test": (train + val, total)}
    for split, (lo, hi) in bounds.items():
        with open(folder / f"{task}_{split}.tsv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, delimiter="\t", lineterminator="\n")
            w.writerow(["Source", "Target"])
            w.writerows(rows[lo:hi])
    mark.write_text(json.dumps({"generator": "listops", **params}))
    return folder
