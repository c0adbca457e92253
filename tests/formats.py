"""Writers of small datasets in the exact on-disk formats users have (lra-reference §2).

Each writes under a data dir the way the real archive unpacks, so the tests go through the same
loader code as real data.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from PIL import Image

# Two short "papers" per row; the real files hold whole papers (thousands of characters).
AAN_TEXT = [
    "We present a parser for dependency grammars.",
    "A statistical approach to machine translation (MT), with results.",
    "Word sense disambiguation using WordNet: an evaluation.",
    "Improved alignment models for statistical MT; BLEU +2.1.",
]


def write_aan(root: Path, n: dict[str, int] | None = None, bad_line: str | None = None) -> Path:
    """tsv_data/new_aan_pairs.{train,eval,test}.tsv: no header; label, id1, id2, text1, text2.

    Labels are written as floats ("1.0"), as in the release. bad_line, if given, is appended to
    the train file."""
    n = n or {"train": 12, "eval": 5, "test": 6}
    folder = root / "tsv_data"
    folder.mkdir(parents=True, exist_ok=True)
    for split, count in n.items():
        lines = []
        for i in range(count):
            a, b = AAN_TEXT[i % 4], AAN_TEXT[(i * 3 + 1) % 4]
            lines.append(f"{float(i % 2)}\tW{i:02d}-1001\tP{i:02d}-2002\t{a * (1 + i % 3)}\t{b}")
        if bad_line is not None and split == "train":
            lines.append(bad_line)
        (folder / f"new_aan_pairs.{split}.tsv").write_text("\n".join(lines) + "\n")
    return folder


def write_pathfinder(root: Path, resolution: int = 32, batches: int = 3, per_batch: int = 10,
                     empty: tuple[tuple[int, int], ...] = ((1, 3),), seed: int = 0) -> Path:
    """pathfinder{R}/curv_contour_length_14/{imgs/<b>/sample_<i>.png, metadata/<b>.npy}.

    Metadata is the release's plain text, 11 fields a line; images are 8-bit grayscale PNGs with
    the label drawn into pixel (0, 0) so a test can check image-label pairing. (batch, index)
    pairs in `empty` are written as 0-byte files, as some in the release are.
    """
    rng = np.random.default_rng(seed)
    folder = root / f"pathfinder{resolution}" / "curv_contour_length_14"
    (folder / "metadata").mkdir(parents=True, exist_ok=True)
    for b in range(batches):
        (folder / "imgs" / str(b)).mkdir(parents=True, exist_ok=True)
        lines = []
        for i in range(per_batch):
            label = int(rng.integers(2))
            path = folder / "imgs" / str(b) / f"sample_{i}.png"
            if (b, i) in empty:
                path.write_bytes(b"")
            else:
                img = rng.integers(0, 256, (resolution, resolution), dtype=np.uint8)
                img[0, 0] = 255 * label
                Image.fromarray(img, mode="L").save(path)
            lines.append(f"imgs/{b} sample_{i}.png {i} {label} 1.0 14 2 2 0.5 1 1")
        (folder / "metadata" / f"{b}.npy").write_text("\n".join(lines) + "\n")
    return folder


def write_cifar_batches(root: Path, per_batch: int = 8, seed: int = 0) -> Path:
    """cifar-10-batches-py/{data_batch_1..5,test_batch}: pickled dicts with b'data' (n, 3072)
    uint8 in R, G, B planes and b'labels', as the Toronto archive holds them."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"batch_label": name.encode(),
                 b"labels": [int(x) for x in rng.integers(0, 10, per_batch)],
                 b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 b"filenames": [f"img_{i}.png".encode() for i in range(per_batch)]}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)
    return folder


IMDB_REVIEWS = [
    ("A wonderful film, moving and funny; I loved it.", 1),
    ("Terrible plot. The acting was wooden and dull!", 0),
    ("Great cast, great story -- see it twice.", 1),
    ("Boring, too long, and the ending made no sense.", 0),
]


def write_aclimdb(root: Path, per_class: int = 6) -> Path:
    """aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt, one review per file."""
    folder = root / "aclImdb"
    for split in ("train", "test"):
        for label, sub in enumerate(("neg", "pos")):
            d = folder / split / sub
            d.mkdir(parents=True, exist_ok=True)
            texts = [t for t, y in IMDB_REVIEWS if y == label]
            for i in range(per_class):
                rating = 8 if label else 2
                (d / f"{i}_{rating}.txt").write_text(texts[i % 2] * (1 + i % 4), encoding="utf-8")
    return folder
