"""Text (IMDB reviews, LRA): sentiment from characters, 2 classes, length 4,096.

Sources, in this order (lra-reference §2.2):
  1. `aclImdb/{train,test}/{pos,neg}/*.txt` inside --data-dir (the Stanford archive, as many users
     already hold it);
  2. tfds `imdb_reviews` (plain_text), read through `tfds.data_source`, without TensorFlow, from
     --data-dir if it holds imdb_reviews/, else from tfds's default folder. Preparing it once
     needs TensorFlow: `pip install -e '.[prepare]'` then
     `tfds build imdb_reviews --file_format=array_record --data_dir DIR`.
Both give 25,000 train and 25,000 test reviews.

As S4: every character is a token; characters seen fewer than 15 times in training become <unk>
(specials <pad>=0, <unk>=1, <eos>=2 first), about 135 entries on the real data; each review is cut
to 4,095 characters + <eos>. IMDB has no validation split: like LRA and S4, the test split serves
as validation (val_fraction = 0, recorded as such); `val_fraction` > 0 holds out that share of
train instead, seeded.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from tasks.base import (
    DataError,
    TaskData,
    TaskSpec,
    TokenSplit,
    build_char_vocab,
    cache_dir,
    cache_key,
    encode_texts,
    load_arrays,
    open_tfds,
    save_arrays,
    seeded_split,
)

SPECIALS = ("<pad>", "<unk>", "<eos>")
UNK, EOS = 1, 2
MAX_LENGTH = 4096
MIN_FREQ = 15
EXPECTED_SIZES = {"train": 25_000, "test": 25_000}
SPLIT_SEED = 42
_PARSER_VERSION = 1

HOW_TO_GET = (
    "Put the Stanford archive's aclImdb/ folder (aclImdb_v1.tar.gz) in --data-dir, or prepare "
    "tfds imdb_reviews once: pip install -e '.[prepare]' && tfds build imdb_reviews "
    "--file_format=array_record --data_dir DIR (then pass DIR as --data-dir)."
)

SPEC = TaskSpec(
    name="text",
    num_classes=2,
    max_length=MAX_LENGTH,
    vocab_size=135,  # S4's count on IMDB (§2.2); load() sets the count on the data read
    split_rule="train = IMDB train; val = test = IMDB test (as LRA and S4)",
    title="Text",
    lra=True,
    release_sizes={**EXPECTED_SIZES, "val": EXPECTED_SIZES["test"]},  # val is test
)


@dataclasses.dataclass(frozen=True)
class Options:
    """Text's data options (`--set data.val_fraction=0.1`)."""

    val_fraction: float = 0.0  # hold out this share of train as val, seeded (0: test is val)

    def __post_init__(self):
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")


def read_aclimdb(folder: Path) -> dict[str, tuple[list[str], np.ndarray]]:
    """{split: (texts, labels)} from aclImdb/{train,test}/{neg,pos}/*.txt (neg = 0, pos = 1)."""
    out = {}
    for split in ("train", "test"):
        texts, labels = [], []
        for label, sub in enumerate(("neg", "pos")):
            d = folder / split / sub
            if not d.is_dir():
                raise DataError(f"{d} is missing: aclImdb/ is incomplete. {HOW_TO_GET}")
            for path in sorted(d.glob("*.txt")):
                try:
                    texts.append(path.read_text(encoding="utf-8"))
                except (UnicodeDecodeError, OSError) as e:
                    raise DataError(f"{path}: unreadable ({e}). Re-extract aclImdb/.") from None
                labels.append(label)
        if not texts:
            raise DataError(f"{folder / split}: no reviews found. {HOW_TO_GET}")
        out[split] = (texts, np.array(labels, np.int32))
    return out


def read_tfds(data_dir: str | None) -> dict[str, tuple[list[str], np.ndarray]]:
    """{split: (texts, labels)} from tfds imdb_reviews through tfds.data_source."""
    out = {}
    for split in ("train", "test"):
        source = open_tfds("imdb_reviews", split, data_dir, HOW_TO_GET)
        texts, labels = [], []
        for i in range(len(source)):
            ex = source[i]
            text = ex["text"]
            texts.append(text.decode("utf-8") if isinstance(text, bytes) else str(text))
            labels.append(int(ex["label"]))
        out[split] = (texts, np.array(labels, np.int32))
    return out


def _locate(data_dir: str) -> tuple[str, Path | None]:
    """('aclImdb', folder) or ('tfds', tfds data_dir or None)."""
    root = Path(data_dir)
    for candidate in (root / "aclImdb", root):
        if (candidate / "train" / "pos").is_dir():
            return "aclImdb", candidate
    if (root / "imdb_reviews").is_dir():
        return "tfds", root
    if not root.is_dir():
        raise DataError(f"data folder {root} does not exist. {HOW_TO_GET}")
    return "tfds", None


def load(data_dir: str, *, max_length: int, options: Options) -> TaskData:
    """Reads, checks and tokenises IMDB once; later calls read the cached arrays."""
    val_fraction = options.val_fraction
    kind, where = _locate(data_dir)
    # The review folders' mtimes change whenever a review is added or removed (a missing one is
    # reported by read_aclimdb).
    key_files = [] if kind == "tfds" else [
        d for s in ("train", "test") for c in ("neg", "pos") if (d := where / s / c).is_dir()]
    tfds_dir = os.fspath(where) if (kind == "tfds" and where is not None) else None
    key = cache_key("text", _PARSER_VERSION, key_files, source=kind, where=str(where),
                    max_length=max_length, min_freq=MIN_FREQ, val_fraction=val_fraction)
    cache_file = cache_dir() / f"{key}.npz"
    arrays = load_arrays(cache_file)
    if arrays is None:
        raw = read_aclimdb(where) if kind == "aclImdb" else read_tfds(tfds_dir)
        train_texts, train_labels = raw["train"]
        test_texts, test_labels = raw["test"]
        parts = {"test": (test_texts, test_labels)}
        if val_fraction > 0:
            idx = seeded_split(len(train_texts), round(val_fraction * len(train_texts)), 0,
                               SPLIT_SEED)
            parts["train"] = ([train_texts[i] for i in idx["train"]], train_labels[idx["train"]])
            parts["val"] = ([train_texts[i] for i in idx["val"]], train_labels[idx["val"]])
        else:
            parts["train"] = (train_texts, train_labels)
        vocab = build_char_vocab(parts["train"][0], MIN_FREQ, SPECIALS)
        arrays = {"vocab": np.array(json.dumps(vocab))}
        for name, (texts, labels) in parts.items():
            tokens, offsets, truncated = encode_texts(texts, vocab, max_length, UNK, EOS)
            arrays |= {f"{name}/tokens": tokens, f"{name}/offsets": offsets,
                       f"{name}/targets": labels, f"{name}/truncated": np.array(truncated)}
        save_arrays(cache_file, arrays)
    vocab = json.loads(str(arrays["vocab"]))
    names = ("train", "val", "test") if "val/targets" in arrays else ("train", "test")
    splits = {n: TokenSplit(arrays[f"{n}/tokens"], arrays[f"{n}/offsets"], arrays[f"{n}/targets"])
              for n in names}
    if "val" not in splits:
        splits["val"] = splits["test"]  # LRA/S4 convention: test doubles as validation
    rule = (SPEC.split_rule if val_fraction == 0 else
            f"train = IMDB train minus a seeded {val_fraction:.0%} (seed {SPLIT_SEED}) held out "
            "as val; test = IMDB test")
    source = {
        "kind": kind,
        "path": str(where) if where else "tfds default data_dir",
        "sizes": {name: len(s) for name, s in splits.items()},
        "expected_sizes_release": EXPECTED_SIZES,
        "val_is_test": val_fraction == 0,
        "truncated": {n: int(arrays[f"{n}/truncated"]) for n in names},
        "cache": str(cache_file),
        "split_rule": rule,
        "vocab_size": len(vocab),
        "vocab_rule": f"characters of train seen >= {MIN_FREQ} times, after {', '.join(SPECIALS)}",
    }
    spec = TaskSpec(**{**SPEC.__dict__, "vocab_size": len(vocab), "split_rule": rule})
    return TaskData(spec=spec, splits=splits, source=source)
