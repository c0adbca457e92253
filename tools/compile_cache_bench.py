"""What XLA's persistent compilation cache saves at a run's start (lra/compile_cache.py): each
task's `full` config trained for one epoch on a little generated data, three times, each a
`python -m lra train` of its own: without the cache, with a fresh cache (compiled and written),
and again (read back). One JSON line per run: the process's wall time, result.json's
wall_time_s and compile_cache counts. The runs are mostly their start: the conv and remat
timings, the compiles at each padded length, the eager initialisation.

    .venv/bin/python tools/compile_cache_bench.py > results/bench/compile-cache-cpu-2core.jsonl
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lra import records  # noqa: E402

DATA = {"listops": ["--train", "80", "--val", "40", "--test", "40"],
        "pathfinder": ["--resolution", "32", "--n", "200"]}
RUNS = ("off", "first", "second")  # without the cache; a fresh one; the same one again
BATCH = 8  # the small machine's batch: the start's compiles, not the epoch, are measured


def lra(*args: str, env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lra", *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    root = Path(tempfile.mkdtemp())
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    env["LRA_CACHE_DIR"] = str(root / "data-cache")
    prov = records.provenance()
    print(json.dumps({"bench": "env", "commit": prov["commit"], "dirty": prov["dirty"],
                      "machine": prov["machine"], "versions": prov["versions"]}), flush=True)
    for task, sizes in DATA.items():
        lra("data", "generate", "--task", task, "--out", str(root / "data"), *sizes, env=env)
        for run in RUNS:
            place = "off" if run == "off" else str(root / f"xla-{task}")
            workdir = root / "runs" / f"{task}-{run}"
            seconds = lra("train", "--task", task, "--config", "full", "--data-dir",
                          str(root / "data"), "--workdir", str(workdir), "--set",
                          "train.epochs=1", "--set", f"train.batch_size={BATCH}", "--set",
                          "train.tensorboard=false", env={**env, "LRA_COMPILE_CACHE": place})
            result = json.loads((workdir / "result.json").read_text())
            print(json.dumps({"bench": "compile_cache", "task": task, "config": "full",
                              "batch": BATCH, "run": run, "process_s": seconds,
                              "wall_time_s": result["wall_time_s"],
                              "compile_cache": result["compile_cache"],
                              "steps": result["steps"]}), flush=True)


if __name__ == "__main__":
    main()
