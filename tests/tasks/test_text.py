"""Text (IMDB, characters) on the aclImdb/ folder and on tfds imdb_reviews."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from tasks import text
from tasks.base import DataError, TaskSpec, batches
from tests.formats import write_aclimdb
from tests.tasks.adapters import load


def test_aclimdb_vocabulary_lengths_and_val_is_test(tmp_path):
    write_aclimdb(tmp_path)
    data = load(text, str(tmp_path))
    assert data.source["sizes"] == {"train": 12, "test": 12, "val": 12}
    assert data.source["val_is_test"] and data.splits["val"] is data.splits["test"]
    # Vocabulary: specials, then characters seen >= 15 times in train, most frequent first.
    train = "".join(p.read_text() for p in (tmp_path / "aclImdb" / "train").rglob("*.txt"))
    counts = {c: train.count(c) for c in set(train)}
    kept = sorted((c for c in counts if counts[c] >= 15), key=lambda c: (-counts[c], c))
    assert data.spec.vocab_size == 3 + len(kept)
    batch = next(batches(data.splits["train"], 12, max_length=4096))
    assert batch["inputs"].shape[0] == 12 and batch["inputs"].dtype == np.int32
    assert set(batch["targets"]) == {0, 1}
    assert (batch["inputs"][np.arange(12), batch["lengths"] - 1] == text.EOS).all()
    # A rare character (seen < 15 times) became <unk>.
    assert (data.splits["train"].tokens == text.UNK).any()


def test_val_fraction_holds_out_part_of_train(tmp_path):
    write_aclimdb(tmp_path, per_class=10)
    data = load(text, str(tmp_path), val_fraction=0.25)
    assert data.source["sizes"] == {"train": 15, "val": 5, "test": 20}
    assert not data.source["val_is_test"] and "seeded 25%" in data.spec.split_rule


def test_tfds_imdb_reviews_through_data_source(tmp_path):
    with tfds.testing.mock_data(num_examples=7, policy=tfds.testing.MockPolicy.USE_CODE):
        data = load(text, str(tmp_path))
    assert data.source["kind"] == "tfds"
    assert data.source["sizes"]["train"] == 7
    assert isinstance(data.spec, TaskSpec)


def test_incomplete_aclimdb_says_what_to_do(tmp_path):
    write_aclimdb(tmp_path)
    (tmp_path / "aclImdb" / "test" / "neg").rename(tmp_path / "elsewhere")
    with pytest.raises(DataError, match=r"aclImdb/test/neg is missing.*tfds build imdb_reviews"):
        load(text, str(tmp_path))


def test_unprepared_tfds_dataset_says_how_to_prepare_it(tmp_path):
    (tmp_path / "imdb_reviews").mkdir()  # a tfds folder without the prepared dataset
    with pytest.raises(DataError, match=r"tfds imdb_reviews .* could not be opened.*tfds build"):
        load(text, str(tmp_path))
