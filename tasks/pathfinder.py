"""Pathfinder (32x32) and Path-X (128x128), LRA: are the two dots joined by one path? 2 classes.

Source (lra-reference §2.5, §2.6): `pathfinder{32,128}/curv_contour_length_14/` (the hardest
difficulty, the one S4 and S5 use) holding `imgs/<batch>/sample_<i>.png` and `metadata/<batch>.npy`.
Despite the extension each metadata file is plain text, one line per image with 11 space-separated
fields: (0) image folder `imgs/<batch>`, (1) file name, (2) index, (3) label 0/1, (4)-(10) the
generator's settings. Metadata files are read in the numeric order of their stems; empty PNGs
are skipped and counted (the release has some); an unreadable one stops with its path.

As S4 (v3, the S4D paper's code): grayscale pixels in raster order, one channel, scaled to
[-1, 1]; all examples are split by a seeded permutation (seed 42) into
n - 2·int(0.1·n) / int(0.1·n) / int(0.1·n) = 160,000 / 20,000 / 20,000 on the release (S4 uses
torch's random_split: same sizes, a different permutation).

The cache is one memory-mapped uint8 array (n, R·R) with the rows already in train/val/test order,
so each split is a view of it: Path-X (200,000 × 16,384 = 3.3 GB) is never held in memory, let
alone twice, and a batch reads only its rows.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from tasks.base import (
    DataError,
    DenseSplit,
    TaskData,
    TaskSpec,
    cache_dir,
    cache_key,
    find_task_dir,
    seeded_split,
)

DIFFICULTY = "curv_contour_length_14"  # what S4 and S5 train on
# The release's three difficulty folders, easiest first, and their contour lengths
# (lra-reference §2.5).
Difficulty = Literal["curv_baseline", "curv_contour_length_9", "curv_contour_length_14"]
DIFFICULTIES = dict(zip(get_args(Difficulty), (6, 9, 14), strict=True))
DECODE_THREADS = 8  # PNG decoding threads of the first read (PIL releases the GIL)
SPLIT_SEED = 42
GENERATOR_MARK = "lra_s4d_generator.json"  # written by tasks/generators/pathfinder.py
_PARSER_VERSION = 1


def how_to_get(resolution: int) -> str:
    return (
        f"Get pathfinder{resolution}/ from the LRA release archive lra_release.gz (unpacked: "
        f"lra_release/lra_release/pathfinder{resolution}/{DIFFICULTY}/) and pass the folder "
        f"holding pathfinder{resolution}/ as --data-dir. Or generate it (no download): "
        f"python -m lra data generate --task {'pathx' if resolution == 128 else 'pathfinder'} "
        f"--resolution {resolution} --out DIR"
    )


def read_metadata(folder: Path, resolution: int) -> list[tuple[str, int, Path, int]]:
    """[(image path relative to folder, label, metadata file, line)] in the release's order."""
    meta_dir = folder / "metadata"
    if not meta_dir.is_dir():
        raise DataError(f"{meta_dir} is missing. {how_to_get(resolution)}")
    files = [p for p in meta_dir.iterdir() if p.suffix == ".npy"]
    bad = [p.name for p in files if not p.stem.isdigit()]
    if bad:
        raise DataError(f"{meta_dir}: metadata files must be named <batch>.npy, found {bad[:3]}. "
                        "Remove the stray files.")
    rows = []
    for path in sorted(files, key=lambda p: int(p.stem)):
        with open(path, encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, start=1):
                fields = line.split()
                if not fields:
                    continue
                if len(fields) != 11 or fields[3] not in ("0", "1"):
                    raise DataError(
                        f"{path}:{lineno}: expected 11 space-separated fields with the label "
                        f"(field 4) 0 or 1, found {line.strip()[:80]!r}. This metadata file is "
                        "damaged: re-extract it."
                    )
                rows.append((f"{fields[0]}/{fields[1]}", int(fields[3]), path, lineno))
    if not rows:
        raise DataError(f"{meta_dir}: no metadata lines. {how_to_get(resolution)}")
    return rows


def find_folder(data_dir: str, resolution: int, difficulty: str) -> tuple[Path, Path]:
    """(pathfinder<R>/, pathfinder<R>/<difficulty>/) inside data_dir, or a DataError saying how
    to get them."""
    root = find_task_dir(data_dir, [f"pathfinder{resolution}",
                                    f"pathfinder/pathfinder{resolution}"],
                         how_to_get=how_to_get(resolution))
    folder = root / difficulty
    if not folder.is_dir():
        raise DataError(f"{folder} is missing (S4 trains on {DIFFICULTY}). "
                        f"{how_to_get(resolution)}")
    return root, folder


def decode_png(path: Path, resolution: int) -> np.ndarray:
    """(R·R,) uint8 grayscale pixels of a non-empty PNG."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            pixels = np.asarray(im.convert("L"), np.uint8)
    except Exception as e:
        raise DataError(f"{path}: unreadable PNG ({e}). Re-extract it or delete its metadata "
                        "line.") from None
    if pixels.shape != (resolution, resolution):
        raise DataError(f"{path}: expected {resolution}x{resolution} pixels, found "
                        f"{pixels.shape[1]}x{pixels.shape[0]}. Is this the pathfinder{resolution} "
                        "folder?")
    return pixels.reshape(-1)


@dataclasses.dataclass(frozen=True)
class Options:
    """Pathfinder's and Path-X's data options (`--set data.difficulty=curv_baseline`)."""

    difficulty: Difficulty = DIFFICULTY  # contour length 6, 9 or 14; S4 and S5 train on 14


class PathfinderTask:
    """Pathfinder at one resolution: 32 (LRA Pathfinder) or 128 (Path-X)."""

    Options = Options

    def __init__(self, spec: TaskSpec, resolution: int):
        self.SPEC = spec
        self.resolution = resolution

    def load(self, data_dir: str, *, max_length: int, options: Options) -> TaskData:
        R = self.resolution
        difficulty = options.difficulty
        if difficulty not in DIFFICULTIES:
            raise DataError(f"difficulty must be one of {list(DIFFICULTIES)}, got {difficulty!r}")
        if max_length != R * R:
            raise DataError(f"{self.SPEC.name} sequences have {R * R} pixels; max_length must be "
                            f"{R * R}, got {max_length}")
        root, folder = find_folder(data_dir, R, difficulty)
        meta_files = sorted((folder / "metadata").glob("*.npy"))
        key = cache_key(f"pathfinder{R}", _PARSER_VERSION, meta_files, seed=SPLIT_SEED)
        entry = cache_dir() / key
        if not (entry / "index.json").is_file():
            self._build(folder, entry, DECODE_THREADS)
        index = json.loads((entry / "index.json").read_text())
        pixels = np.load(entry / "pixels.npy", mmap_mode="r")
        targets = np.load(entry / "targets.npy")
        splits, start = {}, 0
        for name in ("train", "val", "test"):
            n = index["sizes"][name]
            splits[name] = DenseSplit(pixels[start : start + n], targets[start : start + n],
                                      2 / 255, -1.0)
            start += n
        mark = root / GENERATOR_MARK
        source = {
            "kind": "generated" if mark.is_file() else "release",
            "path": str(folder.resolve()),
            "sizes": index["sizes"],
            "expected_sizes_release": self.SPEC.release_sizes,
            "empty_images_skipped": index["empty"],
            "cache": str(entry),
            "difficulty": difficulty,
            "split_rule": self.SPEC.split_rule.replace(DIFFICULTY, difficulty),
            "pixels": "grayscale / 255 * 2 - 1, in [-1, 1] (S4 v3)",
        }
        if mark.is_file():
            source["generator"] = json.loads(mark.read_text())
        return TaskData(spec=self.SPEC, splits=splits, source=source)

    def _build(self, folder: Path, entry: Path, workers: int) -> None:
        """Decodes every PNG once into entry/pixels.npy, rows in train, val, test order."""
        R = self.resolution
        rows = read_metadata(folder, R)
        empty = []  # empty PNGs are skipped, as LRA and S4 do
        for i, (rel, _, meta, lineno) in enumerate(rows):
            try:
                if (folder / rel).stat().st_size == 0:
                    empty.append(i)
            except FileNotFoundError:
                raise DataError(f"{meta}:{lineno}: names {folder / rel}, which does not exist. "
                                f"Re-extract pathfinder{R}/ or delete that line.") from None
        keep = np.setdiff1d(np.arange(len(rows)), empty)
        n = len(keep)
        tenth = int(0.1 * n)
        parts = seeded_split(n, tenth, tenth, SPLIT_SEED)
        order = np.concatenate([parts["train"], parts["val"], parts["test"]])
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=entry.parent, prefix=entry.name + ".tmp"))
        try:
            out = np.lib.format.open_memmap(tmp / "pixels.npy", "w+", np.uint8, (n, R * R))
            targets = np.empty(n, np.int32)

            def fill(pos: int) -> None:
                rel, label, *_ = rows[keep[order[pos]]]
                out[pos] = decode_png(folder / rel, R)
                targets[pos] = label

            with ThreadPoolExecutor(max(1, min(workers, os.cpu_count() or 1))) as pool:
                for _ in pool.map(fill, range(n), chunksize=256):
                    pass
            out.flush()
            np.save(tmp / "targets.npy", targets)
            sizes = {k: len(v) for k, v in parts.items()}
            (tmp / "index.json").write_text(json.dumps({"sizes": sizes, "empty": len(empty),
                                                        "empty_files": [rows[i][0] for i in
                                                                        empty[:20]]}))
            if entry.exists():  # left without index.json by an interrupted build
                _remove_dir(entry)
            os.replace(tmp, entry)
        except BaseException:
            _remove_dir(tmp)
            raise


def _remove_dir(path: Path) -> None:
    for p in path.glob("*"):
        p.unlink(missing_ok=True)
    path.rmdir()


def _spec(name: str, title: str, resolution: int) -> TaskSpec:
    return TaskSpec(
        name=name,
        title=title,
        lra=True,
        release_sizes={"train": 160_000, "val": 20_000, "test": 20_000},  # of 200,000 images
        num_classes=2,
        max_length=resolution * resolution,
        in_dim=1,
        split_rule=f"{DIFFICULTY}, metadata in numeric order, empty images skipped; seeded "
                   f"permutation (seed {SPLIT_SEED}) into n-2·int(n/10) / int(n/10) / int(n/10)",
    )


PATHFINDER = PathfinderTask(_spec("pathfinder", "Pathfinder", 32), 32)
PATHX = PathfinderTask(_spec("pathx", "Path-X", 128), 128)
