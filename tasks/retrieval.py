"""Retrieval (ACL Anthology Network, LRA): do two papers cite one another? Two-tower, 2 classes.

Source (lra-reference §2.3): `tsv_data/new_aan_pairs.{train,eval,test}.tsv`, tab-separated, no
header, five columns: label, id1, id2, text1, text2. The label is numeric (LRA reads a float and
casts it to int). Split sizes in the release: 147,086 / 18,090 / 17,437 pairs.

As S4: characters are tokens; the vocabulary is built over text1 and text2 of the training split
(specials <pad>=0, <unk>=1, <eos>=2 first), saved with the cache and recorded in the run; each
document is cut to 3,999 characters + <eos> = 4,000. Batches hold both documents, padded to a
common length, for the two-tower head (models/sequence.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tasks.base import (
    DataError,
    NoOptions,
    PairSplit,
    TaskData,
    TaskSpec,
    TokenSplit,
    build_char_vocab,
    cache_dir,
    cache_key,
    encode_texts,
    find_task_dir,
    load_arrays,
    save_arrays,
)

SPECIALS = ("<pad>", "<unk>", "<eos>")
UNK, EOS = 1, 2
MAX_LENGTH = 4000  # per document, <eos> included (§2.3)
MIN_FREQ = 1  # every character of the training split gets an id
SPLITS = {"train": "new_aan_pairs.train.tsv", "val": "new_aan_pairs.eval.tsv",
          "test": "new_aan_pairs.test.tsv"}
EXPECTED_SIZES = {"train": 147_086, "val": 18_090, "test": 17_437}
_PARSER_VERSION = 1

HOW_TO_GET = (
    "Get the AAN data from the LRA release archive lra_release.gz (unpacked, it holds "
    "lra_release/lra_release/tsv_data/new_aan_pairs.*.tsv) and pass the folder holding "
    "tsv_data/ (or aan/) as --data-dir."
)

SPEC = TaskSpec(
    name="retrieval",
    num_classes=2,
    max_length=MAX_LENGTH,
    vocab_size=98,  # S4's count on the release (§2.3); load() sets the count on the data read
    paired=True,
    split_rule="release files new_aan_pairs.train/eval/test.tsv (eval = val)",
    title="Retrieval",
    lra=True,
    release_sizes=EXPECTED_SIZES,
)
Options = NoOptions


def parse_tsv(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """(text1s, text2s, labels) of one split; a malformed row stops with file:line."""
    text1, text2, labels = [], [], []
    with open(path, encoding="utf-8", newline="") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            cols = line.split("\t")
            if len(cols) != 5:
                raise DataError(
                    f"{path}:{lineno}: expected 5 tab-separated columns (label, id1, id2, text1, "
                    f"text2), found {len(cols)}. Fix or delete this line, or re-extract the file."
                )
            try:
                label = int(float(cols[0]))
            except ValueError:
                label = -1
            if label not in (0, 1):
                raise DataError(
                    f"{path}:{lineno}: the label (column 1) must be 0 or 1, found "
                    f"{cols[0][:20]!r}. Fix or delete this line, or re-extract the file."
                )
            labels.append(label)
            text1.append(cols[3])
            text2.append(cols[4])
    if not labels:
        raise DataError(f"{path}: no rows. {HOW_TO_GET}")
    return text1, text2, np.array(labels, np.int32)


def load(data_dir: str, *, max_length: int, options: NoOptions) -> TaskData:
    """Reads, checks and tokenises the three splits once; later calls read the cached arrays."""
    del options  # Retrieval has none
    folder = find_task_dir(data_dir, ["tsv_data", "aan"], how_to_get=HOW_TO_GET)
    files = {name: folder / fname for name, fname in SPLITS.items()}
    for path in files.values():
        if not path.is_file():
            raise DataError(f"{path} is missing. {HOW_TO_GET}")
    key = cache_key("retrieval", _PARSER_VERSION, list(files.values()), max_length=max_length,
                    min_freq=MIN_FREQ)
    cache_file = cache_dir() / f"{key}.npz"
    arrays = load_arrays(cache_file)
    if arrays is None:
        parsed = {name: parse_tsv(path) for name, path in files.items()}
        t1, t2, _ = parsed["train"]
        vocab = build_char_vocab([*t1, *t2], MIN_FREQ, SPECIALS)
        arrays = {"vocab": np.array(json.dumps(vocab))}
        for name, (text1, text2, labels) in parsed.items():
            for doc, texts in (("1", text1), ("2", text2)):
                tokens, offsets, truncated = encode_texts(texts, vocab, max_length, UNK, EOS)
                arrays |= {f"{name}/tokens{doc}": tokens, f"{name}/offsets{doc}": offsets,
                           f"{name}/truncated{doc}": np.array(truncated)}
            arrays[f"{name}/targets"] = labels
        save_arrays(cache_file, arrays)
    vocab = json.loads(str(arrays["vocab"]))
    splits = {
        name: PairSplit(*(TokenSplit(arrays[f"{name}/tokens{d}"], arrays[f"{name}/offsets{d}"],
                                     arrays[f"{name}/targets"]) for d in "12"))
        for name in SPLITS
    }
    spec = TaskSpec(**{**SPEC.__dict__, "vocab_size": len(vocab)})
    source = {
        "kind": "release",
        "path": str(folder.resolve()),
        "files": {name: path.name for name, path in files.items()},
        "sizes": {name: len(s) for name, s in splits.items()},
        "expected_sizes_release": EXPECTED_SIZES,
        "truncated": {name: int(arrays[f"{name}/truncated1"] + arrays[f"{name}/truncated2"])
                      for name in SPLITS},
        "cache": str(cache_file),
        "split_rule": SPEC.split_rule,
        "vocab_size": len(vocab),
        "vocab_rule": f"characters of train text1+text2 seen >= {MIN_FREQ} times, after "
                      f"{', '.join(SPECIALS)}",
    }
    return TaskData(spec=spec, splits=splits, source=source)
