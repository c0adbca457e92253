"""`python -m lra data check`: read a task's data through its adapter and summarise it.

The adapter does the checking (layout, unreadable or empty files, malformed rows: each a DataError
naming the file, the line and the fix), exactly as `train` does before its first step. This adds
the summary: source, split sizes against the release's, vocabulary, truncations, skipped empty
images, the cache and the time the read took (first read or cache).
"""

from __future__ import annotations

import time

import numpy as np

from lra.configs.common import task_adapter
from tasks.base import batches


def check(task: str, data_dir: str) -> tuple[list[str], list[str]]:
    """(summary lines, mismatches with the release's split sizes), for the task's default data
    options."""
    adapter = task_adapter(task)
    t0 = time.perf_counter()
    data = adapter.load(data_dir, max_length=adapter.SPEC.max_length, options=adapter.Options())
    read_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in batches(data.splits["train"], 64, max_length=data.spec.max_length):
        pass
    epoch_s = time.perf_counter() - t0
    src = data.source
    lines = [f"{task}: {src['kind']} data at {src['path']}"]
    expected = src.get("expected_sizes_release", {})
    mismatches = []
    for name in ("train", "val", "test"):
        n = len(data.splits[name])
        want = expected.get(name)
        note = "" if want in (None, n) else f" (the release has {want:,})"
        if note:
            mismatches.append(f"{name}: {n:,} examples, the release has {want:,}")
        lines.append(f"  {name:5s} {n:>9,} examples{note}, classes "
                     f"{np.bincount(data.splits[name].targets, minlength=data.spec.num_classes)}")
    lines.append(f"  split rule: {src['split_rule']}")
    if data.spec.vocab_size:
        lines.append(f"  vocabulary: {data.spec.vocab_size} tokens")
    if any(src.get("truncated", {}).values()):
        lines.append(f"  cut to max length: {src['truncated']}")
    if src.get("empty_images_skipped"):
        lines.append(f"  empty images skipped: {src['empty_images_skipped']}")
    lines.append(f"  cache: {src['cache']}")
    lines.append(f"  load {read_s:.2f} s, one pass over train in batches of 64 {epoch_s:.2f} s")
    return lines, mismatches
