"""Cache speed-up of the task adapters: first read (parse + cache) vs cached, each followed by
one epoch of batches, on release-format data written by tests/formats.py. One JSON line per task.

    .venv/bin/python tools/cache_bench.py > results/bench/cache-cpu-2core.jsonl
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lra import records  # noqa: E402
from tasks.base import batches  # noqa: E402
from tests import formats  # noqa: E402


def main() -> None:
    root = Path(tempfile.mkdtemp())
    os.environ["LRA_CACHE_DIR"] = str(root / "cache")
    import tasks

    data = root / "data"
    formats.write_pathfinder(data, batches=20, per_batch=1000, empty=((3, 7),))
    formats.AAN_TEXT[:] = [t * 60 for t in formats.AAN_TEXT]  # ~3k characters per document
    formats.write_aan(data, n={"train": 5000, "eval": 500, "test": 500})
    formats.IMDB_REVIEWS[:] = [(t * 25, y) for t, y in formats.IMDB_REVIEWS]
    formats.write_aclimdb(data, per_class=1250)
    prov = records.provenance()
    print(json.dumps({"bench": "env", "commit": prov["commit"], "dirty": prov["dirty"],
                      "machine": prov["machine"]}))
    for task in ("pathfinder", "retrieval", "text"):
        adapter = tasks.TASKS[task]
        times = []
        for _ in range(2):
            t0 = time.perf_counter()
            d = adapter.load(str(data), max_length=adapter.SPEC.max_length,
                             options=adapter.Options())
            for _ in batches(d.splits["train"], 64, max_length=d.spec.max_length, shuffle_seed=0):
                pass
            times.append(time.perf_counter() - t0)
        print(json.dumps({"bench": "cache", "task": task, "train": len(d.splits["train"]),
                          "first_read_s": times[0], "cached_s": times[1],
                          "speedup": times[0] / times[1]}), flush=True)


if __name__ == "__main__":
    main()
