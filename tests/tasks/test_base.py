"""Shared task helpers: character vocabulary, encoding, seeded splits."""

import dataclasses
import inspect

import numpy as np
import pytest

import tasks
from lra.configs.common import field_docs
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


@pytest.mark.parametrize("name", sorted(tasks.TASKS))
def test_every_registered_adapter_keeps_the_contract(name):
    adapter = tasks.TASKS[name]
    assert isinstance(adapter.SPEC, base.TaskSpec) and adapter.SPEC.name == name
    assert adapter.SPEC.title
    options = adapter.Options
    assert dataclasses.is_dataclass(options) and options.__dataclass_params__.frozen
    options()  # the defaults are valid
    params = inspect.signature(adapter.load).parameters
    assert list(params) == ["data_dir", "max_length", "options"]
    keyword_only = inspect.Parameter.KEYWORD_ONLY
    assert [params[p].kind for p in ("max_length", "options")] == [keyword_only] * 2
    assert all(p.default is inspect.Parameter.empty for p in params.values())
    docs = field_docs(options)  # what `python -m lra config` shows for data.KEY
    assert all(len(docs[f.name]) > 10 for f in dataclasses.fields(options))


def test_the_lra_tasks_are_the_benchmarks_six_in_its_order():
    assert tasks.lra_tasks() == ["listops", "text", "retrieval", "image", "pathfinder", "pathx"]


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "sub" / "record.json"
    with base.atomic_write(path) as f:
        f.write("old")
    with pytest.raises(RuntimeError), base.atomic_write(path) as f:
        f.write("half of the ne")
        raise RuntimeError("crash mid-write")
    assert path.read_text() == "old"
    assert [p.name for p in path.parent.iterdir()] == ["record.json"]  # no temp file left
