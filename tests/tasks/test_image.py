"""Image (grayscale CIFAR-10) and sCIFAR on the Toronto python batches and on tfds cifar10."""

import pickle

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from tasks import image, scifar
from tasks.base import DataError, batches
from tests.formats import write_cifar_batches
from tests.tasks.adapters import load


def test_luma_is_pils_grayscale():
    rgb = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    np.testing.assert_array_equal(image.luma(rgb), np.asarray(Image.fromarray(rgb).convert("L")))


def test_python_batches_split_and_normalisation(tmp_path):
    folder = write_cifar_batches(tmp_path, per_batch=1200)  # 6,000 train images
    data = load(image.IMAGE, str(tmp_path))
    assert data.source["sizes"] == {"train": 1000, "val": 5000, "test": 1200}
    assert data.source["kind"] == "cifar-10-batches-py"
    # Test image 0, by hand from the pickle: planes -> RGB -> luma -> S4's normalisation.
    with open(folder / "test_batch", "rb") as f:
        raw = pickle.load(f, encoding="bytes")
    rgb = raw[b"data"][0].reshape(3, 32, 32).transpose(1, 2, 0)
    gray = np.asarray(Image.fromarray(rgb).convert("L"), np.float32).reshape(-1) / 255
    batch = next(batches(data.splits["test"], 4, max_length=1024))
    assert batch["inputs"].shape == (4, 1024, 1)
    np.testing.assert_allclose(batch["inputs"][0, :, 0], (gray - 122.6 / 255) / (61.0 / 255),
                               rtol=1e-5, atol=1e-5)
    assert batch["targets"][0] == raw[b"labels"][0]


def test_scifar_keeps_three_channels(tmp_path):
    write_cifar_batches(tmp_path, per_batch=1100)
    data = load(scifar.TASK, str(tmp_path))
    batch = next(batches(data.splits["train"], 2, max_length=1024))
    assert batch["inputs"].shape == (2, 1024, 3)
    assert data.spec.in_dim == 3


def test_tfds_cifar10_through_data_source(tmp_path):
    with tfds.testing.mock_data(num_examples=5500, policy=tfds.testing.MockPolicy.USE_CODE):
        data = load(image.IMAGE, str(tmp_path))
    assert data.source["kind"] == "tfds"
    assert data.source["sizes"] == {"train": 500, "val": 5000, "test": 5500}
    assert next(batches(data.splits["val"], 3, max_length=1024))["inputs"].shape == (3, 1024, 1)


def test_damaged_batch_file_is_named(tmp_path):
    folder = write_cifar_batches(tmp_path)
    (folder / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match=r"data_batch_3: not a CIFAR-10 python batch"):
        load(image.IMAGE, str(tmp_path))
    (folder / "data_batch_3").unlink()
    with pytest.raises(DataError, match=r"data_batch_3 is missing.*cifar-10-python.tar.gz"):
        load(image.IMAGE, str(tmp_path))
