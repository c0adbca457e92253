"""Retrieval (AAN) adapter on release-format TSVs."""

import numpy as np
import pytest

from tasks import retrieval
from tasks.base import DataError, batches
from tests.formats import AAN_TEXT, write_aan
from tests.tasks.adapters import load


def test_loads_pairs_with_a_train_vocabulary(tmp_path):
    write_aan(tmp_path / "lra_release" / "lra_release")  # the tarball's nesting
    data = load(retrieval, str(tmp_path))
    assert data.source["sizes"] == {"train": 12, "val": 5, "test": 6}
    chars = sorted(set("".join(AAN_TEXT)))
    assert data.spec.vocab_size == 3 + len(chars) == data.source["vocab_size"]
    assert data.spec.paired and data.spec.num_classes == 2
    batch = next(batches(data.splits["train"], 4, max_length=4000, min_bucket=16))
    assert set(batch) == {"inputs", "lengths", "inputs2", "lengths2", "targets", "weights"}
    assert batch["inputs"].shape == batch["inputs2"].shape == (4, 256)
    # Row 0: text1 = AAN_TEXT[0], text2 = AAN_TEXT[1]; both end in <eos>.
    assert batch["lengths"][0] == len(AAN_TEXT[0]) + 1
    assert batch["lengths2"][0] == len(AAN_TEXT[1]) + 1
    assert batch["inputs"][0, batch["lengths"][0] - 1] == retrieval.EOS
    np.testing.assert_array_equal(batch["targets"], [0, 1, 0, 1])


def test_documents_are_cut_to_max_length_with_eos(tmp_path):
    write_aan(tmp_path)
    data = load(retrieval, str(tmp_path), max_length=20)
    split = data.splits["train"]
    assert split.first.lengths.max() == 20 and split.second.lengths.max() == 20
    assert data.source["truncated"]["train"] > 0


@pytest.mark.parametrize("bad, message", [
    ("1.0\tW1\tP1\tonly four columns", "expected 5 tab-separated columns"),
    ("yes\tW1\tP1\ta\tb", r"the label \(column 1\) must be 0 or 1"),
])
def test_malformed_rows_name_file_and_line(tmp_path, bad, message):
    write_aan(tmp_path, bad_line=bad)
    with pytest.raises(DataError, match=rf"new_aan_pairs\.train\.tsv:13: {message}"):
        load(retrieval, str(tmp_path))


def test_missing_files_say_where_to_get_them(tmp_path):
    (tmp_path / "tsv_data").mkdir()
    with pytest.raises(DataError, match="new_aan_pairs.train.tsv is missing.*lra_release.gz"):
        load(retrieval, str(tmp_path))
