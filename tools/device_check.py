"""The device check: what this project measures on a machine with an accelerator, in one command.

    tools/device_check.sh [SECTIONS] [OUT] [--export DIR]   # on the device machine
    python tools/device_check.py --smoke all,tune OUT       # seconds on a CPU

SECTIONS: quick, train, tune, plan or all (= quick,train), or several joined by commas ("all,tune");
they run in that order. --export DIR copies the results into DIR as at most six files
(summary.jsonl, bench.jsonl, dryrun.jsonl, tune.jsonl, lra_table.md, records.tar.gz): what a
lent machine can send back.

Sections, each finishing on its own (every step has a time limit inside the whole check's
budget), so a short lease still yields figures:
  quick  `lra bench --device` (the device's ceilings: copy bandwidth, matrix-product rates; the
         S4D layer at L = 1k, 4k, 16k, FFT and chunked, float32 and bfloat16; the 4-layer model;
         each task's full training step at its paper batch, model.conv=auto resolved), then
         the dry run of all six full configs (memory, step time, time per epoch beside S4's).
  train  ListOps `full` on generated ListOps and Pathfinder-32 `full` on generated Pathfinder,
         each trained for a fixed time and then stopped by SIGTERM, as the trainer's own records
         (stopped.json: the tables label them partial), then `lra report` over them.
  tune   `lra bench --device --tune`: the device's ceilings, then the ListOps, Pathfinder and
         Path-X full steps under each model.conv and model.dtype, and under each candidate XLA
         flag of the platform (what the device's defaults rest on), into tune.jsonl. Not in
         `all`: a second call, if the lease allows.
  plan   `lra train --plan-for h200` of all six full configs (lra/plan.py: XLA's GPU compiler
         on the host's CPU, for the datasheet's H200, the device unused), into plan.jsonl, then
         its table and, where OUT holds the quick section's dry runs, each plan beside the dry
         run on the device itself (`lra bench --plan-table OUT/plan.jsonl --against
         OUT/dryrun.jsonl`): how far the memory planned without a GPU is from the device's
         own plan, and what share of the datasheet's bandwidth each measured step reached.
         Not in `all`: run it into the same OUT after `all`.
  all    quick and train (the default; about 8 minutes on one H200 by its budgets).

OUT holds: summary.jsonl (one line per step: its command, seconds, exit code, and whether it hit
its limit), bench.jsonl, dryrun.jsonl, tune.jsonl, plan.jsonl (exported in records.tar.gz),
data/, runs/<task>/ and report/.
`python -m lra bench --roofline OUT/bench.jsonl` sets each figure beside the ceilings measured
on the same device; `--dryrun-table OUT/dryrun.jsonl` sets the dry runs beside S4's epoch times
and the targets (the quick section prints it too). In --smoke mode the sizes are tiny (bench
--quick; ListOps alone, its smoke config on tiny data) so that `make test` runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TASKS = ("listops", "text", "retrieval", "image", "pathfinder", "pathx")

# Seconds each step may take on the device (the whole check: BUDGET_S), and the training time of
# each run. ListOps and Pathfinder data are drawn small: enough for the 2-minute runs. A dry run
# compiles the training step twice (model.remat=auto: with and without remat) and, where both
# fit, times both: its remat_choice is the device's remat figure.
BUDGET_S = 470
LIMITS = {"bench": 170, "dryrun": 55, "data": 60, "train": 130, "report": 30, "tune": 300,
          "plan": 90}
SECTIONS = ("quick", "train", "tune", "plan")
PLAN_GPU = "h200"  # the lent machine's GPU (lra/plan.py GPUS)
TRAIN_S = 100
DATA = {"listops": ["--train", "10000", "--val", "1000", "--test", "1000"],
        "pathfinder": ["--resolution", "32", "--n", "20000"]}
SMOKE_DATA = {"listops": ["--train", "64", "--val", "16", "--test", "16", "--min-length", "5",
                          "--max-length", "40", "--max-depth", "3"]}


class Check:
    """Runs the steps as subprocesses, each within its limit and the check's budget."""

    def __init__(self, out: Path, smoke: bool, budget: float):
        self.out, self.smoke = out, smoke
        self.deadline = time.time() + budget
        out.mkdir(parents=True, exist_ok=True)

    def step(self, name: str, args: list[str], limit: float, *, stdout: Path | None = None,
             stop_after: float | None = None) -> int:
        """Runs `python -m lra ARGS`; stop_after sends SIGTERM then (a run stopped as a preempted
        job is: it saves and writes stopped.json). Returns the exit code (124: over its limit)."""
        limit = min(limit, self.deadline - time.time())
        row = {"step": name, "command": ["python", "-m", "lra", *args], "limit_s": round(limit)}
        if limit < 5:
            return self._log({**row, "skipped": "the check's time budget is spent"})
        t0 = time.time()
        with open(stdout or os.devnull, "a") as sink, open(self.out / f"{name}.log", "w") as log:
            proc = subprocess.Popen([sys.executable, "-m", "lra", *args], cwd=ROOT, stdout=sink,
                                    stderr=log, text=True)
            code = self._wait(proc, limit, stop_after)
        return self._log({**row, "seconds": round(time.time() - t0, 1), "exit_code": code,
                          "over_limit": code == 124})

    @staticmethod
    def _wait(proc: subprocess.Popen, limit: float, stop_after: float | None) -> int:
        try:
            if stop_after is not None and stop_after < limit:
                try:
                    return proc.wait(timeout=stop_after)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGTERM)
                    limit -= stop_after
            return proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return 124

    def _log(self, row: dict) -> int:
        with open(self.out / "summary.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)
        return row.get("exit_code", 0)

    def quick(self) -> None:
        bench = ["bench", "--quick"] if self.smoke else ["bench", "--device"]
        self.step("bench", [*bench, "--out", str(self.out / "bench.jsonl")], LIMITS["bench"])
        variant = "smoke" if self.smoke else "full"
        for task in ("listops",) if self.smoke else TASKS:
            self.step(f"dryrun-{task}", ["train", "--task", task, "--config", variant,
                                         "--dry-run", "--json", "--dry-run-steps", "2"],
                      LIMITS["dryrun"], stdout=self.out / "dryrun.jsonl")
        self.targets()

    def targets(self) -> None:
        """The project's speed targets against the dry runs (lra/targets.py), one summary row."""
        path = self.out / "dryrun.jsonl"
        rows = self._rows(path)
        from lra import targets

        self._log({"step": "targets", **targets.check(rows)})
        if rows:  # the table `lra bench --dryrun-table` prints, in the output a lease returns
            print("\n".join(targets.table(rows, str(path))), flush=True)

    @staticmethod
    def _rows(path: Path) -> list[dict]:
        if str(ROOT) not in sys.path:  # the checkout's lra, which the steps' `python -m lra` run
            sys.path.insert(0, str(ROOT))
        return [json.loads(line) for line in path.read_text().splitlines()] \
            if path.exists() else []

    def train(self) -> None:
        data, runs = self.out / "data", self.out / "runs"
        for task in ("listops",) if self.smoke else ("listops", "pathfinder"):
            sizes = (SMOKE_DATA if self.smoke else DATA)[task]
            self.step(f"data-{task}", ["data", "generate", "--task", task, "--out", str(data),
                                       *sizes], LIMITS["data"])
            extra = (["--config", "smoke", "--set", "train.epochs=2"] if self.smoke else
                     ["--config", "full"])
            # The lent machine has JAX but not tensorboardX (the project is installed there
            # with --no-deps): no event files; metrics.jsonl is the record.
            self.step(f"train-{task}", ["train", "--task", task, *extra, "--data-dir",
                                        str(data), "--workdir", str(runs / task),
                                        "--set", "train.tensorboard=false"],
                      LIMITS["train"], stop_after=None if self.smoke else TRAIN_S)
        self.step("report", ["report", "--runs", str(runs), "--out", str(self.out / "report")],
                  LIMITS["report"])


    def tune(self) -> None:
        bench = ["bench", "--quick"] if self.smoke else ["bench", "--device"]
        self.step("tune", [*bench, "--tune", "--out", str(self.out / "tune.jsonl")],
                  LIMITS["tune"])

    def plan(self) -> None:
        variant = "smoke" if self.smoke else "full"
        for task in ("listops",) if self.smoke else TASKS:
            self.step(f"plan-{task}", ["train", "--task", task, "--config", variant,
                                       "--plan-for", PLAN_GPU, "--json"],
                      LIMITS["plan"], stdout=self.out / "plan.jsonl")
        plans, dry = self._rows(self.out / "plan.jsonl"), self._rows(self.out / "dryrun.jsonl")
        from lra import plan_table

        if plans:  # `lra bench --plan-table plan.jsonl [--against dryrun.jsonl]`
            print("\n".join(plan_table.table(plans, "plan.jsonl")), flush=True)
        if plans and dry:
            print("\n".join(plan_table.against(plans, dry, "dryrun.jsonl")), flush=True)


def sections(text: str) -> list[str]:
    """'all,tune' -> ['quick', 'train', 'tune'] (in SECTIONS' order); a one-line error else."""
    chosen = set()
    for part in text.split(","):
        if part not in (*SECTIONS, "all"):
            raise SystemExit(f"device_check: unknown section {part!r}; choose from "
                             f"{', '.join(SECTIONS)} or all (= quick,train), joined by commas")
        chosen |= {"quick", "train"} if part == "all" else {part}
    return [s for s in SECTIONS if s in chosen]


def export(out: Path, to: Path) -> list[Path]:
    """The check's results in a few files (a device machine sends back only a few): the JSON
    lines, the LRA table, and records.tar.gz with every run's records and every step's log (no
    data, no checkpoints)."""
    to.mkdir(parents=True, exist_ok=True)
    files = [out / "summary.jsonl", out / "bench.jsonl", out / "dryrun.jsonl",
             out / "tune.jsonl", out / "report" / "lra_table.md"]
    written = []
    for f in files:
        if f.exists():
            shutil.copy(f, to / f.name)
            written.append(to / f.name)
    with tarfile.open(to / "records.tar.gz", "w:gz") as tar:
        for f in sorted([*out.glob("*.log"), *out.glob("runs/*/*.json"),
                         *out.glob("runs/*/metrics.jsonl"), *out.glob("plan.jsonl")]):
            tar.add(f, arcname=str(f.relative_to(out)))
    return [*written, to / "records.tar.gz"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sections", nargs="?", default="all", type=sections,
                   help="quick, train, tune or all (= quick,train), joined by commas")
    p.add_argument("out", nargs="?", default=str(ROOT / "runs" / "device-check"))
    p.add_argument("--smoke", action="store_true", help="tiny sizes, seconds on a CPU")
    p.add_argument("--budget", type=float, default=BUDGET_S, help="seconds for the whole check")
    p.add_argument("--export", metavar="DIR", help="then copy the results into DIR (<= 6 files)")
    args = p.parse_args(argv)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    check = Check(Path(args.out), args.smoke, args.budget)
    for section in args.sections:
        getattr(check, section)()
    if args.export:
        for path in export(Path(args.out), Path(args.export)):
            print(f"exported {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
