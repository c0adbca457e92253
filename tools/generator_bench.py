"""Speed of the Pathfinder generator: PNGs and metadata written to disk, per resolution, with one
worker (images/s per core) and with every core. One JSON line per measurement.

    .venv/bin/python tools/generator_bench.py > results/bench/pathfinder-gen-cpu-2core.jsonl
    .venv/bin/python tools/generator_bench.py --full >> results/bench/pathfinder-gen-cpu-2core.jsonl

The issue's targets (2 cores): Pathfinder-32's 200,000 images in under 10 minutes (333/s in all)
and Path-X's 200,000 128x128 images in under 2 hours (28/s in all).
"""

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lra import records  # noqa: E402
from tasks.generators import pathfinder  # noqa: E402

SIZES = {32: 16000, 64: 4000, 128: 8000, 256: 2000}  # images per measurement (8 batches)


def main() -> None:
    sizes = dict(SIZES)
    if "--full" in sys.argv:  # the release's 200,000 images at 32 and 128, with every core
        sizes = {32: 200_000, 128: 200_000}
    prov = records.provenance()
    print(json.dumps({"bench": "env", "commit": prov["commit"], "dirty": prov["dirty"],
                      "machine": prov["machine"], "versions": prov.get("versions")}), flush=True)
    cores = os.cpu_count() or 1
    for resolution, n in sizes.items():
        for workers in sorted({1, cores}) if "--full" not in sys.argv else [cores]:
            root = Path(tempfile.mkdtemp())
            t0 = time.perf_counter()
            s = pathfinder.generate(root, resolution=resolution, n=n, per_batch=min(1000, n // 8),
                                    workers=workers, seed=0)
            wall = time.perf_counter() - t0
            shutil.rmtree(root)
            print(json.dumps({
                "bench": "pathfinder_generate", "resolution": resolution,
                "difficulty": "curv_contour_length_14", "images": n, "workers": workers,
                "wall_s": round(wall, 2), "images_per_s": round(n / wall, 1),
                "images_per_s_per_core": round(n / wall / workers, 1),
                "workers_used": s["workers"], "redrawn": s["redrawn"],
                "projected_200k_min": round(200_000 / (n / wall) / 60, 1),
            }), flush=True)


if __name__ == "__main__":
    main()
