"""What every task adapter shares: the TaskSpec, split containers, batching and the array cache.

Batches are dicts of NumPy arrays:
  inputs  (B, L) int32 tokens (or (B, L, C) float32 for pixel tasks)
  lengths (B,)   int32 true lengths
  targets (B,)   int32 class ids
  weights (B,)   float32, 1 for real examples, 0 for the filler of a last partial eval batch
L is the smallest length bucket that holds the batch's longest sequence: like S4, a batch is
padded to its own longest sequence, but rounded up to a power of two so that JAX compiles the
step for a handful of shapes, not one per length. The model masks padding, so this changes
nothing in the results.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np


class DataError(Exception):
    """Bad or missing data: the message names the file (and line) and says what to do."""


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """What the trainer, the model and the tables need to know about a task.

    name: registry name. num_classes: classes of the target. max_length: longest sequence, in
    tokens including <eos>, or in pixels. vocab_size: token tasks (None for real inputs).
    in_dim: channels of real inputs (None for token tasks). paired: inputs come in pairs
    (Retrieval). split_rule: where train/val/test come from, written into every run record.
    title: the task's name in tables ('Path-X'). lra: one of the six LRA tasks, a column of the
    LRA table. release_sizes: examples per split in the released data ({'train': ..., 'val':
    ..., 'test': ...}), which the dry run uses to predict an epoch without reading the data.
    """

    name: str
    num_classes: int
    max_length: int
    vocab_size: int | None = None
    in_dim: int | None = None
    paired: bool = False
    split_rule: str = ""
    title: str = ""
    lra: bool = False
    release_sizes: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class NoOptions:
    """The data options of a task that has none."""


class TaskAdapter(Protocol):
    """What a task adapter provides: a module or an object with these three members.

    SPEC: the TaskSpec. Options: a frozen dataclass of the task's data options, each field
    documented by a comment beside it and typed (choices as `Literal`), so that `--set
    data.KEY=VALUE` is checked against it; `Options()` holds the defaults (NoOptions if none).
    load: reads, checks and caches the data; `max_length` is the run's sequence limit (the
    spec's own unless the config cuts it). Raises DataError naming the file, line and fix.
    """

    SPEC: TaskSpec
    Options: type

    def load(self, data_dir: str, *, max_length: int, options: Any) -> TaskData: ...


@dataclasses.dataclass
class TokenSplit:
    """A ragged split of token sequences: sequence i is tokens[offsets[i]:offsets[i+1]]."""

    tokens: np.ndarray  # (T,) uint8/int32, all sequences concatenated
    offsets: np.ndarray  # (n+1,) int64
    targets: np.ndarray  # (n,) int32

    def __len__(self) -> int:
        return len(self.targets)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets).astype(np.int32)

    def gather(self, idx: np.ndarray, min_bucket: int, max_length: int) -> dict[str, np.ndarray]:
        """Batch of the sequences at idx, zero-padded to a length bucket."""
        lengths = self.lengths[idx]
        L = bucket_length(int(lengths.max()), min_bucket, max_length)
        inputs = np.zeros((len(idx), L), np.int32)
        for row, i in enumerate(idx):
            seq = self.tokens[self.offsets[i] : self.offsets[i + 1]]
            inputs[row, : len(seq)] = seq
        return {"inputs": inputs, "lengths": lengths, "targets": self.targets[idx]}


@dataclasses.dataclass
class PairSplit:
    """Pairs of token sequences (Retrieval): both documents padded to one common length bucket.

    Batches add inputs2 (B, L) and lengths2 (B,) for the second document."""

    first: TokenSplit
    second: TokenSplit

    def __len__(self) -> int:
        return len(self.first)

    @property
    def targets(self) -> np.ndarray:
        return self.first.targets

    @property
    def lengths(self) -> np.ndarray:
        return np.maximum(self.first.lengths, self.second.lengths)

    def gather(self, idx: np.ndarray, min_bucket: int, max_length: int) -> dict[str, np.ndarray]:
        # Pad both documents to the longer of the two, as S4 stacks them along the batch.
        L = bucket_length(int(self.lengths[idx].max()), min_bucket, max_length)
        a = self.first.gather(idx, L, L)
        b = self.second.gather(idx, L, L)
        return a | {"inputs2": b["inputs"], "lengths2": b["lengths"]}


@dataclasses.dataclass
class DenseSplit:
    """Fixed-length real-valued sequences stored as uint8 (pixels), possibly memory-mapped.

    pixels (n, L) or (n, L, C) uint8; batches hold float32 pixels · scale + shift, (B, L, C).
    Only the gathered rows are read, so a memory-mapped Path-X (3.3 GB) is never loaded whole.
    """

    pixels: np.ndarray
    targets: np.ndarray  # (n,) int32
    scale: float | np.ndarray  # scalar, or (C,) per channel
    shift: float | np.ndarray

    def __len__(self) -> int:
        return len(self.targets)

    def gather(self, idx: np.ndarray, min_bucket: int, max_length: int) -> dict[str, np.ndarray]:
        del min_bucket, max_length  # every sequence has the full length
        # Sorted reads are sequential on a memory-mapped file; restore the order after.
        order = np.argsort(idx, kind="stable")
        rows = np.empty((len(idx), *self.pixels.shape[1:]), np.uint8)
        rows[order] = self.pixels[idx[order]]
        if rows.ndim == 2:
            rows = rows[..., None]
        x = rows.astype(np.float32) * np.float32(self.scale) + np.float32(self.shift)
        lengths = np.full(len(idx), self.pixels.shape[1], np.int32)
        return {"inputs": x, "lengths": lengths, "targets": self.targets[idx]}


Split = TokenSplit | PairSplit | DenseSplit


@dataclasses.dataclass
class TaskData:
    """A task's spec, its three splits and where they came from (for the run record)."""

    spec: TaskSpec
    splits: dict[str, Split]
    source: dict


def seeded_split(n: int, val: int, test: int, seed: int) -> dict[str, np.ndarray]:
    """Indices of a seeded random train/val/test partition of range(n), each sorted.

    Same sizes as S4's torch random_split, not the same permutation (that would need torch's
    generator); the seed and rule go into the run record.
    """
    if val + test >= n:
        raise DataError(f"cannot split {n} examples into val {val} + test {test} + train")
    perm = np.random.default_rng(seed).permutation(n)
    return {"train": np.sort(perm[val + test :]), "val": np.sort(perm[:val]),
            "test": np.sort(perm[val : val + test])}


def build_char_vocab(texts, min_freq: int, specials: Sequence[str]) -> list[str]:
    """Specials, then every character seen >= min_freq times, most frequent first (ties by
    code point), as torchtext's build_vocab_from_iterator orders them."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(text)
    kept = sorted((ch for ch, c in counts.items() if c >= min_freq),
                  key=lambda ch: (-counts[ch], ch))
    return [*specials, *(ch for ch in kept if ch not in specials)]


def encode_texts(texts, vocab: Sequence[str], max_length: int, unk: int, eos: int):
    """Characters -> ids (unknown -> unk), each text cut to max_length - 1, plus eos.

    Vectorised over all texts at once (code points by one UTF-32 encode, ids by a sorted lookup):
    the 65M characters of IMDB take seconds, not minutes.
    Returns (tokens, offsets, truncated) for a TokenSplit."""
    cut = [t[: max_length - 1] for t in texts]
    truncated = sum(len(t) > max_length - 1 for t in texts)
    lengths = np.array([len(t) + 1 for t in cut], np.int64)
    offsets = np.zeros(len(cut) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    codes = np.frombuffer("".join(cut).encode("utf-32-le"), np.uint32)
    specials = {i for i, ch in enumerate(vocab) if len(ch) != 1}
    chars = np.array([ord(ch) for i, ch in enumerate(vocab) if i not in specials], np.uint32)
    char_ids = np.array([i for i in range(len(vocab)) if i not in specials], np.int64)
    order = np.argsort(chars)
    chars, char_ids = chars[order], char_ids[order]
    pos = np.clip(np.searchsorted(chars, codes), 0, max(len(chars) - 1, 0))
    found = chars[pos] == codes if len(chars) else np.zeros(len(codes), bool)
    ids = np.where(found, char_ids[pos] if len(chars) else 0, unk)
    tokens = np.empty(offsets[-1], np.uint8 if len(vocab) <= 256 else np.int32)
    is_eos = np.zeros(offsets[-1], bool)
    is_eos[offsets[1:] - 1] = True
    tokens[is_eos] = eos
    tokens[~is_eos] = ids
    return tokens, offsets, truncated


def open_tfds(name: str, split: str, data_dir: str | None, how_to_get: str):
    """A tfds dataset split through tfds.data_source (random access, no TensorFlow import).

    download=False: never reach for the network; an unprepared dataset is a DataError that says
    how to prepare it."""
    import tensorflow_datasets as tfds

    try:
        return tfds.data_source(name, split=split, data_dir=data_dir, download=False)
    except Exception as e:  # tfds raises several kinds when the dataset is not prepared
        raise DataError(
            f"tfds {name} ({data_dir or 'default tfds folder'}) could not be opened: "
            f"{str(e).splitlines()[0][:200]}. {how_to_get}"
        ) from None


def bucket_length(n: int, min_bucket: int, max_length: int) -> int:
    """Smallest power of two >= n (and >= min_bucket), capped at max_length."""
    return min(max(min_bucket, 1 << max(n - 1, 0).bit_length()), max_length)


def batches(
    split: TokenSplit,
    batch_size: int,
    *,
    max_length: int,
    min_bucket: int = 64,
    shuffle_seed: int | None = None,
    drop_last: bool = False,
    skip: int = 0,
    part: tuple[int, int] = (0, 1),
) -> Iterator[dict[str, np.ndarray]]:
    """Yields batches in order, or in a seeded random order when shuffle_seed is set.

    With drop_last=False the last partial batch is filled up to batch_size with copies of
    example 0 carrying weight 0, so every batch has the same size and every example counts once.
    `skip` leaves out the first batches without reading them (a resumed epoch). part=(p, P)
    yields only rows [p·B/P, (p+1)·B/P) of each batch (process p of P reads its share), padded
    to the whole batch's length bucket so that every process's share has one shape.
    """
    p, parts = part
    lo, hi = p * batch_size // parts, (p + 1) * batch_size // parts
    n = len(split)
    order = np.arange(n)
    if shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(n)
    stop = n - n % batch_size if drop_last else n
    lengths = getattr(split, "lengths", None)  # token tasks; computed once, not per batch
    for start in range(skip * batch_size, stop, batch_size):
        idx = order[start : start + batch_size]
        real = len(idx)
        idx = np.concatenate([idx, np.full(batch_size - real, order[0])])
        L = max_length
        if lengths is not None:  # token tasks: the global batch's bucket
            L = bucket_length(int(lengths[idx].max()), min_bucket, max_length)
        batch = split.gather(idx[lo:hi], L, L)
        batch["weights"] = (np.arange(batch_size) < real).astype(np.float32)[lo:hi]
        yield batch


def num_batches(n: int, batch_size: int, drop_last: bool) -> int:
    return n // batch_size if drop_last else -(-n // batch_size)


# ---------------------------------------------------------------------------------------------
# Locating data and caching parsed arrays.


def find_task_dir(data_dir: str | os.PathLike, names: Sequence[str], *, how_to_get: str) -> Path:
    """The folder of a task inside data_dir, accepting the release's nested layouts.

    Looks for each name directly in data_dir, then under lra_release/ and lra_release/lra_release/
    (the tarball unpacks to the latter).
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise DataError(f"data folder {root} does not exist. {how_to_get}")
    for prefix in ("", "lra_release", "lra_release/lra_release"):
        for name in names:
            candidate = root / prefix / name
            if candidate.is_dir():
                return candidate
    raise DataError(f"{root} holds no {' or '.join(names)}/ folder. {how_to_get}")


def cache_dir() -> Path:
    """Where parsed arrays are cached: $LRA_CACHE_DIR, else ~/.cache/lra-s4d."""
    return Path(os.environ.get("LRA_CACHE_DIR") or Path.home() / ".cache" / "lra-s4d")


def cache_key(kind: str, version: int, files: Sequence[Path], **options) -> str:
    """Key changing whenever a source file (path, size, mtime), the parser or an option changes."""
    h = hashlib.sha256(json.dumps([kind, version, sorted(options.items())]).encode())
    for f in files:
        st = f.stat()
        h.update(f"{f.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return f"{kind}-{h.hexdigest()[:16]}"


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """A file to write that appears at `path` only when the block ends without an error.

    Written beside path (same filesystem) and renamed over it with os.replace, which POSIX makes
    atomic: a reader sees the old file or the new one, and a crash leaves no half-written file.
    Used for the array cache and for every run record (lra/records.py).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Writes an .npz atomically: a crash never leaves a half-written cache entry."""
    with atomic_write(path, "wb") as f:
        np.savez(f, **arrays)


def load_arrays(path: Path) -> dict[str, np.ndarray] | None:
    if not path.is_file():
        return None
    with np.load(path) as z:
        return {k: z[k] for k in z.files}
