"""ListOps (Nangia & Bowman 2018, as released in LRA): 10-way classification of nested expressions.

Source (lra-reference §2.1): `listops-1000/basic_{train,val,test}.tsv`, tab-separated with the
header `Source<TAB>Target`. Source is an expression in which every sub-expression is wrapped in
round brackets, e.g. `( ( ( [MAX 2 ) 9 ) ] )`; Target is its value 0-9.

Tokenisation as LRA and S4: `]` becomes `X`, `(` and `)` are dropped, then split on whitespace.
The vocabulary is fixed rather than learned from the training split: the 15 ListOps symbols after
<pad>=0, <unk>=1, <eos>=2, i.e. 18 entries as in S4 (ids differ from S4's frequency order, which
only permutes the embedding rows). Each sequence is cut to max_length - 1 tokens and gets <eos>.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tasks.base import (
    DataError,
    NoOptions,
    TaskData,
    TaskSpec,
    TokenSplit,
    cache_dir,
    cache_key,
    find_task_dir,
    load_arrays,
    save_arrays,
)

SPECIALS = ("<pad>", "<unk>", "<eos>")
SYMBOLS = ("[MIN", "[MAX", "[MED", "[SM", "X", *map(str, range(10)))
VOCAB = {tok: i for i, tok in enumerate(SPECIALS + SYMBOLS)}
EOS = VOCAB["<eos>"]
MAX_LENGTH = 2048  # S4's l_max for ListOps (lra-reference §2.1)
SPLITS = {"train": "basic_train.tsv", "val": "basic_val.tsv", "test": "basic_test.tsv"}
EXPECTED_SIZES = {"train": 96_000, "val": 2_000, "test": 2_000}  # the release (§2.1)
GENERATOR_MARK = "lra_s4d_generator.json"  # written by our generator next to the TSVs
_PARSER_VERSION = 1

HOW_TO_GET = (
    "Get ListOps from the LRA release archive lra_release.gz (unpacked, it holds "
    "lra_release/lra_release/listops-1000/) and pass the folder holding listops-1000/ as "
    "--data-dir, or generate it: python -m lra data generate --task listops --out DIR"
)

SPEC = TaskSpec(
    name="listops",
    num_classes=10,
    max_length=MAX_LENGTH,
    vocab_size=len(VOCAB),
    split_rule="release files basic_train/basic_val/basic_test.tsv",
    title="ListOps",
    lra=True,
    release_sizes=EXPECTED_SIZES,
)
Options = NoOptions


def tokenize(source: str) -> list[str]:
    """LRA's ListOps tokenisation: `]` -> `X`, drop round brackets, split on whitespace."""
    return source.replace("]", "X").replace("(", " ").replace(")", " ").split()


def parse_tsv(path: Path, max_length: int) -> tuple[TokenSplit, int]:
    """Reads one split file. Returns the split and how many sequences were truncated."""
    tokens: list[np.ndarray] = []
    targets: list[int] = []
    truncated = 0
    with open(path, encoding="utf-8", newline="") as f:
        header = f.readline().rstrip("\r\n")
        if header.split("\t") != ["Source", "Target"]:
            raise DataError(
                f"{path}:1: expected the header 'Source<TAB>Target', found {header[:60]!r}. "
                f"This is not a ListOps TSV of the LRA release. {HOW_TO_GET}"
            )
        for lineno, line in enumerate(f, start=2):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            cols = line.split("\t")
            if len(cols) != 2:
                raise DataError(
                    f"{path}:{lineno}: expected 2 tab-separated columns (Source, Target), found "
                    f"{len(cols)}. Fix or delete this line, or re-extract the file."
                )
            source, target = cols
            if not target.strip().isdigit() or not 0 <= int(target) <= 9:
                raise DataError(
                    f"{path}:{lineno}: Target must be an integer 0-9, found {target[:20]!r}. "
                    "Fix or delete this line, or re-extract the file."
                )
            toks = tokenize(source)
            unknown = sorted({t for t in toks if t not in VOCAB})
            if not toks or unknown:
                raise DataError(
                    f"{path}:{lineno}: Source has "
                    + (f"unknown symbols {unknown[:5]}" if unknown else "no tokens")
                    + f"; ListOps uses only {' '.join(SYMBOLS)} and round brackets. "
                    "Fix or delete this line, or re-extract the file."
                )
            if len(toks) > max_length - 1:
                truncated += 1
                toks = toks[: max_length - 1]
            tokens.append(np.array([VOCAB[t] for t in toks] + [EOS], np.uint8))
            targets.append(int(target))
    if not targets:
        raise DataError(f"{path}: no examples after the header. {HOW_TO_GET}")
    offsets = np.zeros(len(tokens) + 1, np.int64)
    np.cumsum([len(t) for t in tokens], out=offsets[1:])
    split = TokenSplit(np.concatenate(tokens), offsets, np.array(targets, np.int32))
    return split, truncated


def load(data_dir: str, *, max_length: int, options: NoOptions) -> TaskData:
    """Reads, checks and tokenises the three splits once; later calls read the cached arrays."""
    del options  # ListOps has none
    folder = find_task_dir(data_dir, ["listops-1000", "listops"], how_to_get=HOW_TO_GET)
    files = {name: folder / fname for name, fname in SPLITS.items()}
    for path in files.values():
        if not path.is_file():
            raise DataError(f"{path} is missing. {HOW_TO_GET}")
    key = cache_key("listops", _PARSER_VERSION, list(files.values()), max_length=max_length)
    cache_file = cache_dir() / f"{key}.npz"
    arrays = load_arrays(cache_file)
    if arrays is None:
        arrays = {}
        for name, path in files.items():
            split, truncated = parse_tsv(path, max_length)
            arrays |= {
                f"{name}/tokens": split.tokens,
                f"{name}/offsets": split.offsets,
                f"{name}/targets": split.targets,
                f"{name}/truncated": np.array(truncated),
            }
        save_arrays(cache_file, arrays)
    splits = {
        name: TokenSplit(*(arrays[f"{name}/{k}"] for k in ("tokens", "offsets", "targets")))
        for name in SPLITS
    }
    mark = folder / GENERATOR_MARK
    source = {
        "kind": "generated" if mark.is_file() else "release",
        "path": str(folder.resolve()),
        "files": {name: path.name for name, path in files.items()},
        "sizes": {name: len(s) for name, s in splits.items()},
        "expected_sizes_release": EXPECTED_SIZES,
        "truncated": {name: int(arrays[f"{name}/truncated"]) for name in SPLITS},
        "cache": str(cache_file),
        "split_rule": SPEC.split_rule,
        "vocab_size": SPEC.vocab_size,
    }
    if mark.is_file():
        source["generator"] = json.loads(mark.read_text())
    return TaskData(spec=SPEC, splits=splits, source=source)
