"""Image (grayscale CIFAR-10, LRA): 10 classes from 1,024 pixels in raster order, one channel.

Sources, in this order (lra-reference §2.4):
  1. `cifar-10-batches-py/` inside --data-dir (the Toronto archive: pickled data_batch_1..5 and
     test_batch, each a dict with b'data' (10000, 3072) uint8 R, G, B planes and b'labels');
  2. tfds `cifar10` through `tfds.data_source`, without TensorFlow (preparing it once needs
     TensorFlow: `pip install -e '.[prepare]'` then
     `tfds build cifar10 --file_format=array_record --data_dir DIR`).

As S4: luma grayscale as PIL's convert("L") computes it (torchvision's Grayscale), scaled to
[0, 1] and normalised with mean 122.6/255 and std 61.0/255; train is split 45,000 / 5,000 with
seed 42 (S4 uses torch's random_split: same sizes, a different permutation); test is the 10,000
test images. No augmentation.

tasks/scifar.py reuses CifarTask for the colour version (3 channels, the paper's sCIFAR): the
worked example of adding a task in docs/adding-a-task.md.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from tasks.base import (
    DataError,
    DenseSplit,
    NoOptions,
    TaskData,
    TaskSpec,
    cache_dir,
    cache_key,
    load_arrays,
    open_tfds,
    save_arrays,
    seeded_split,
)

EXPECTED_SIZES = {"train": 45_000, "val": 5_000, "test": 10_000}
VAL_SIZE = 5_000
SPLIT_SEED = 42
MEAN, STD = 122.6 / 255, 61.0 / 255  # S4's grayscale CIFAR normalisation
_PARSER_VERSION = 1

HOW_TO_GET = (
    "Put the Toronto archive's cifar-10-batches-py/ folder (cifar-10-python.tar.gz) in "
    "--data-dir, or prepare tfds cifar10 once: pip install -e '.[prepare]' && tfds build cifar10 "
    "--file_format=array_record --data_dir DIR (then pass DIR as --data-dir)."
)

SPEC = TaskSpec(
    name="image",
    num_classes=10,
    max_length=1024,
    in_dim=1,
    split_rule=f"train[45k] / val[5k]: seeded permutation (seed {SPLIT_SEED}) of CIFAR-10 train; "
               "test = CIFAR-10 test",
    title="Image",
    lra=True,
    release_sizes=EXPECTED_SIZES,
)


def luma(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 RGB -> (...) uint8 grayscale, exactly PIL's convert("L"):
    L = (19595 R + 38470 G + 7471 B + 2^15) >> 16, i.e. ITU-R 601-2 luma rounded."""
    r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
    return ((19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16).astype(np.uint8)


def read_batches(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{'train'|'test': (images (n, 32, 32, 3) uint8, labels (n,) int32)}."""
    out = {}
    for split, names in (("train", [f"data_batch_{i}" for i in range(1, 6)]),
                         ("test", ["test_batch"])):
        images, labels = [], []
        for name in names:
            path = folder / name
            if not path.is_file():
                raise DataError(f"{path} is missing: cifar-10-batches-py/ is incomplete. "
                                f"{HOW_TO_GET}")
            try:
                with open(path, "rb") as f:
                    batch = pickle.load(f, encoding="bytes")
                data = np.asarray(batch[b"data"], np.uint8)
                lab = np.asarray(batch[b"labels"], np.int32)
            except Exception as e:
                raise DataError(f"{path}: not a CIFAR-10 python batch ({e}). "
                                "Re-extract cifar-10-python.tar.gz.") from None
            if data.ndim != 2 or data.shape[1] != 3072 or len(lab) != len(data):
                raise DataError(f"{path}: expected data (n, 3072) and n labels, found "
                                f"{data.shape} and {len(lab)}. Re-extract the archive.")
            # Rows are three 32x32 planes (R, G, B), row-major.
            images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            labels.append(lab)
        out[split] = (np.concatenate(images), np.concatenate(labels))
    return out


def read_tfds(data_dir: str | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out = {}
    for split in ("train", "test"):
        source = open_tfds("cifar10", split, data_dir, HOW_TO_GET)
        n = len(source)
        images = np.empty((n, 32, 32, 3), np.uint8)
        labels = np.empty(n, np.int32)
        for i in range(n):
            ex = source[i]
            images[i], labels[i] = ex["image"], int(ex["label"])
        out[split] = (images, labels)
    return out


def _locate(data_dir: str) -> tuple[str, Path | None]:
    root = Path(data_dir)
    for candidate in (root / "cifar-10-batches-py", root):
        if (candidate / "data_batch_1").is_file():
            return "cifar-10-batches-py", candidate
    if (root / "cifar10").is_dir():
        return "tfds", root
    if not root.is_dir():
        raise DataError(f"data folder {root} does not exist. {HOW_TO_GET}")
    return "tfds", None


class CifarTask:
    """CIFAR-10 as a pixel sequence: grayscale (1 channel, LRA Image) or colour (3 channels)."""

    Options = NoOptions

    def __init__(self, spec: TaskSpec, color: bool, mean, std):
        """mean, std: normalisation in [0, 1] units, scalars or one per channel."""
        self.SPEC = spec
        self.color = color
        self.mean, self.std = np.asarray(mean, np.float32), np.asarray(std, np.float32)

    def load(self, data_dir: str, *, max_length: int, options: NoOptions) -> TaskData:
        del options  # CIFAR has none
        if max_length != 1024:
            raise DataError(f"{self.SPEC.name} sequences have 1,024 pixels; max_length must be "
                            f"1024, got {max_length}")
        kind, where = _locate(data_dir)
        files = sorted(where.iterdir()) if kind == "cifar-10-batches-py" else []
        key = cache_key("cifar10", _PARSER_VERSION, files, source=kind, where=str(where),
                        color=self.color)
        cache_file = cache_dir() / f"{key}.npz"
        arrays = load_arrays(cache_file)
        if arrays is None:
            raw = (read_batches(where) if kind == "cifar-10-batches-py"
                   else read_tfds(os.fspath(where) if where else None))
            idx = seeded_split(len(raw["train"][1]), VAL_SIZE, 0, SPLIT_SEED)
            arrays = {}
            for name, (images, labels) in (("train", raw["train"]), ("test", raw["test"])):
                pixels = (images.reshape(len(images), 1024, 3) if self.color
                          else luma(images).reshape(len(images), 1024))
                if name == "train":
                    for part in ("train", "val"):
                        arrays |= {f"{part}/pixels": pixels[idx[part]],
                                   f"{part}/targets": labels[idx[part]]}
                else:
                    arrays |= {"test/pixels": pixels, "test/targets": labels}
            save_arrays(cache_file, arrays)
        scale, shift = 1 / (255 * self.std), -self.mean / self.std
        splits = {n: DenseSplit(arrays[f"{n}/pixels"], arrays[f"{n}/targets"], scale, shift)
                  for n in ("train", "val", "test")}
        source = {
            "kind": kind,
            "path": str(where) if where else "tfds default data_dir",
            "sizes": {n: len(s) for n, s in splits.items()},
            "expected_sizes_release": EXPECTED_SIZES,
            "cache": str(cache_file),
            "split_rule": self.SPEC.split_rule,
            "pixels": ("RGB" if self.color else "PIL luma") + f" / 255, normalised by mean "
                      f"{self.mean.round(4).tolist()}, std {self.std.round(4).tolist()}",
        }
        return TaskData(spec=self.SPEC, splits=splits, source=source)


IMAGE = CifarTask(SPEC, color=False, mean=MEAN, std=STD)
