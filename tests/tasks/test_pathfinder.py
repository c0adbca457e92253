"""Pathfinder / Path-X adapter on release-format PNGs and plain-text metadata."""

import numpy as np
import pytest

from tasks import pathfinder
from tasks.base import DataError, batches
from tests.formats import write_pathfinder
from tests.tasks.adapters import load


def test_split_pixels_labels_and_skipped_empty_images(tmp_path):
    write_pathfinder(tmp_path / "data", empty=((1, 3), (2, 0)))  # 30 metadata lines, 2 empty
    data = load(pathfinder.PATHFINDER, str(tmp_path / "data"))
    # n = 28: int(0.1·n) = 2 for val and test, as S4's rule.
    assert data.source["sizes"] == {"train": 24, "val": 2, "test": 2}
    assert data.source["empty_images_skipped"] == 2
    batch = next(batches(data.splits["train"], 8, max_length=1024))
    assert batch["inputs"].shape == (8, 1024, 1) and batch["inputs"].dtype == np.float32
    assert batch["inputs"].min() >= -1 and batch["inputs"].max() <= 1
    # Each image carries its label in pixel 0 (255 -> +1, 0 -> -1): images and labels match.
    np.testing.assert_array_equal(batch["inputs"][:, 0, 0] > 0, batch["targets"] == 1)
    # Every example lands in exactly one split; the cache is memory-mapped, not loaded.
    assert isinstance(data.splits["train"].pixels, np.memmap)
    all_px = np.concatenate([s.pixels[:, 1:10] for s in data.splits.values()])
    assert len(np.unique(all_px, axis=0)) == 28


def test_second_load_reads_the_cache_and_split_is_seeded(tmp_path):
    write_pathfinder(tmp_path)
    a = load(pathfinder.PATHFINDER, str(tmp_path))
    for png in (tmp_path / "pathfinder32").rglob("*.png"):
        png.unlink()  # the cache must not need them any more
    b = load(pathfinder.PATHFINDER, str(tmp_path))
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(a.splits[name].pixels, b.splits[name].pixels)


def test_path_x_uses_the_128_folder(tmp_path):
    write_pathfinder(tmp_path, resolution=128, batches=1, per_batch=10, empty=())
    data = load(pathfinder.PATHX, str(tmp_path))
    assert data.splits["train"].pixels.shape == (8, 128 * 128)
    assert data.spec.max_length == 16384


def test_bad_metadata_line_names_file_and_line(tmp_path):
    folder = write_pathfinder(tmp_path)
    with open(folder / "metadata" / "1.npy", "a") as f:
        f.write("imgs/1 sample_99.png 99\n")
    with pytest.raises(DataError, match=r"metadata/1.npy:11: expected 11 space-separated"):
        load(pathfinder.PATHFINDER, str(tmp_path))


def test_corrupt_png_and_missing_image_are_named(tmp_path):
    folder = write_pathfinder(tmp_path)
    (folder / "imgs" / "2" / "sample_4.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match=r"imgs/2/sample_4.png: unreadable PNG"):
        load(pathfinder.PATHFINDER, str(tmp_path))
    (folder / "imgs" / "2" / "sample_4.png").unlink()
    with pytest.raises(DataError, match=r"metadata/2.npy:5: names .*sample_4.png, which does"):
        load(pathfinder.PATHFINDER, str(tmp_path))


def test_wrong_resolution_and_missing_difficulty(tmp_path):
    write_pathfinder(tmp_path, resolution=32, batches=1, per_batch=10, empty=())
    (tmp_path / "pathfinder128").mkdir()
    (tmp_path / "pathfinder32").rename(tmp_path / "pathfinder128_")
    (tmp_path / "pathfinder128").rmdir()
    (tmp_path / "pathfinder128_").rename(tmp_path / "pathfinder128")
    with pytest.raises(DataError, match=r"expected 128x128 pixels, found 32x32"):
        load(pathfinder.PATHX, str(tmp_path))
    with pytest.raises(DataError, match=r"holds no pathfinder32.*lra_release.gz"):
        load(pathfinder.PATHFINDER, str(tmp_path))
