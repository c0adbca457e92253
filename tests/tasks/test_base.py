"""Shared task helpers: character vocabulary, encoding, seeded splits."""

import numpy as np

from tasks import base


def test_char_vocab_order_and_min_freq():
    vocab = base.build_char_vocab(["aab", "ba", "c"], min_freq=2, specials=("<pad>", "<unk>"))
    assert vocab == ["<pad>", "<unk>", "a", "b"]  # a: 3, b: 2, c dropped


def test_encode_texts_equals_a_per_character_lookup():
    vocab = ["<pad>", "<unk>", "<eos>", "a", "é", "日", " "]
    texts = ["a é日", "", "zzz a", "日日日日日日"]
    tokens, offsets, truncated = base.encode_texts(texts, vocab, max_length=5, unk=1, eos=2)
    table = {ch: i for i, ch in enumerate(vocab)}
    want = [[table.get(ch, 1) for ch in t[:4]] + [2] for t in texts]
    got = [tokens[offsets[i]:offsets[i + 1]].tolist() for i in range(len(texts))]
    assert got == want and truncated == 2 and tokens.dtype == np.uint8


def test_seeded_split_partitions_and_repeats():
    a = base.seeded_split(100, 10, 10, seed=42)
    b = base.seeded_split(100, 10, 10, seed=42)
    assert [len(a[k]) for k in ("train", "val", "test")] == [80, 10, 10]
    assert sorted(np.concatenate(list(a.values()))) == list(range(100))
    assert all((a[k] == b[k]).all() for k in a)
