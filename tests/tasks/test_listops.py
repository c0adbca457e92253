"""The ListOps adapter on release-format files: tokens, vocabulary, checks, cache, batches."""

import numpy as np
import pytest

from tasks import base, listops
from tests.conftest import RELEASE_ROWS, write_listops_release
from tests.tasks.adapters import load


def test_tokenize_like_lra():
    assert listops.tokenize("( ( ( [MAX 2 ) 9 ) ] )") == ["[MAX", "2", "9", "X"]


def test_reads_release_layout(listops_release):
    data = load(listops, str(listops_release))
    assert data.spec.vocab_size == 18 == len(listops.VOCAB)
    assert data.spec.num_classes == 10
    train = data.splits["train"]
    assert {name: len(s) for name, s in data.splits.items()} == {"train": 10, "val": 10, "test": 10}
    np.testing.assert_array_equal(train.targets, [t for _, t in RELEASE_ROWS])
    inv = {i: tok for tok, i in listops.VOCAB.items()}
    first = [inv[int(i)] for i in train.tokens[train.offsets[0] : train.offsets[1]]]
    assert first == ["[MAX", "2", "9", "X", "<eos>"]
    assert data.source["kind"] == "release"
    assert data.source["sizes"]["test"] == 10


def test_finds_the_tarballs_nested_layout(tmp_path):
    write_listops_release(tmp_path, nested=True)
    assert len(load(listops, str(tmp_path)).splits["val"]) == len(RELEASE_ROWS)


def test_truncates_to_max_length_with_eos(listops_release):
    data = load(listops, str(listops_release), max_length=4)
    lengths = data.splits["train"].lengths
    assert lengths.max() == 4
    assert data.source["truncated"]["train"] == sum(
        len(listops.tokenize(s)) > 3 for s, _ in RELEASE_ROWS
    )
    ends = data.splits["train"].tokens[data.splits["train"].offsets[1:] - 1]
    np.testing.assert_array_equal(ends, listops.EOS)


@pytest.mark.parametrize(
    "line, message",
    [
        ("( ( [MAX 2 ) 9 ] )\t9\textra", r"basic_val.tsv:3: expected 2 tab-separated columns"),
        ("( ( ( [MAX 2 ) 9 ) ] )\t12", r"basic_val.tsv:3: Target must be an integer 0-9"),
        ("( ( ( [POW 2 ) 9 ) ] )\t1", r"basic_val.tsv:3: Source has unknown symbols \['\[POW'\]"),
    ],
)
def test_malformed_row_names_file_and_line(listops_release, line, message):
    path = listops_release / "listops-1000" / "basic_val.tsv"
    lines = path.read_text().splitlines()
    lines.insert(2, line)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(base.DataError, match=message):
        load(listops, str(listops_release))


def test_missing_header_and_missing_data(listops_release, tmp_path):
    path = listops_release / "listops-1000" / "basic_test.tsv"
    path.write_text("\n".join(path.read_text().splitlines()[1:]))
    with pytest.raises(base.DataError, match=r"basic_test.tsv:1: expected the header"):
        load(listops, str(listops_release))
    with pytest.raises(base.DataError, match="does not exist.*lra_release.gz"):
        load(listops, str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(base.DataError, match="holds no listops-1000 or listops/ folder"):
        load(listops, str(tmp_path / "empty"))
    path.unlink()
    with pytest.raises(base.DataError, match="basic_test.tsv is missing.*generate"):
        load(listops, str(listops_release))


def test_cache_is_used_and_invalidated(listops_release, monkeypatch):
    first = load(listops, str(listops_release))
    calls = []
    real_parse = listops.parse_tsv
    monkeypatch.setattr(listops, "parse_tsv", lambda *a: calls.append(a) or real_parse(*a))
    second = load(listops, str(listops_release))
    assert calls == []  # served from the cache
    np.testing.assert_array_equal(first.splits["test"].tokens, second.splits["test"].tokens)
    path = listops_release / "listops-1000" / "basic_train.tsv"
    path.write_text(path.read_text() + "( ( ( [MAX 1 ) 3 ) ] )\t3\n")
    third = load(listops, str(listops_release))
    assert len(calls) == 3 and len(third.splits["train"]) == len(RELEASE_ROWS) + 1


def test_batches_pad_to_buckets_and_count_every_example_once(listops_release):
    split = load(listops, str(listops_release)).splits["train"]
    seen = []
    out = list(base.batches(split, 4, max_length=2048, min_bucket=8))
    assert len(out) == 3
    for b in out:
        assert b["inputs"].shape[0] == 4 and b["inputs"].dtype == np.int32
        L = b["inputs"].shape[1]
        assert L in (8, 16) and L >= b["lengths"].max()
        for row, n in zip(b["inputs"], b["lengths"], strict=True):
            assert (row[n:] == 0).all() and row[n - 1] == listops.EOS
        seen += list(b["targets"][b["weights"] > 0])
    np.testing.assert_array_equal(sorted(seen), sorted(split.targets))
    assert out[-1]["weights"].tolist() == [1, 1, 0, 0]
    # Training order: seeded, drops the incomplete batch, differs between epochs.
    a = [b["targets"].tolist() for b in base.batches(split, 4, max_length=64, shuffle_seed=[0, 1],
                                                     drop_last=True)]
    b = [b["targets"].tolist() for b in base.batches(split, 4, max_length=64, shuffle_seed=[0, 1],
                                                     drop_last=True)]
    c = [b["targets"].tolist() for b in base.batches(split, 4, max_length=64, shuffle_seed=[0, 2],
                                                     drop_last=True)]
    assert a == b and len(a) == 2 and a != c


def test_bucket_length():
    assert [base.bucket_length(n, 64, 2048) for n in (1, 64, 65, 1000, 2048)] == [
        64, 64, 128, 1024, 2048,
    ]
    assert base.bucket_length(3000, 64, 4000) == 4000
