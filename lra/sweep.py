"""Many runs from one command: seeds, and a grid of config values (the paper's ablations).

    python -m lra sweep --task listops --config full --model s4d-inv --seeds 0 1 2 \\
        --data-dir DATA --runs runs
    python -m lra sweep --task listops --config full --data-dir DATA --runs runs \\
        --grid model.a_init=legs,inv,lin,real,rand --grid model.disc=all

Each run gets its own workdir: `<runs>/<task>-<model>-<config>-seed<S>`, or for a grid
`<runs>/<task>-<config>-sweep/<key>=<value>,...-seed<S>` (key = the last part of its name). A run
whose workdir already holds result.json or failure.json is skipped, one whose workdir is locked
by a run in progress is left to it, and one with a checkpoint is resumed, so rerunning the
command after a stop finishes the sweep. A run that diverges writes failure.json and the sweep
goes on; a signal (SIGTERM, Ctrl-C) stops the whole sweep, every running run saving first.

Where the runs go is the launcher's choice (lra/launch.py): here one after another (serial),
several at once here (local), or a job array (slurm, submitit-local); `--shard I/N` takes every
N-th run for any other scheduler. Every sweep ends with each run's state (lra/status.py) and a
summary line.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

from lra.configs import get_config
from lra.configs.common import Config, choices
from lra.errors import ConfigError, Interrupted, TrainingError
from lra.launch import LAUNCHERS, Cluster, run_local, submit, train_argv
from lra.lock import holder, is_locked
from lra.prepare import ENDED
from lra.status import STATES, run_state


@dataclasses.dataclass(frozen=True)
class Run:
    workdir: Path
    seed: int
    overrides: tuple[str, ...]  # the grid point's assignments (the --set ones come first)


def parse_grid(axes: list[str], cfg: Config | None = None) -> list[tuple[str, list[str]]]:
    """['model.disc=zoh,bilinear'] -> [('model.disc', ['zoh', 'bilinear'])], checked.

    `key=all` stands for every value of a choice key (a Literal or a bool), in its declared
    order: model.disc=all is zoh,bilinear,dss (needs cfg, the sweep's config, to look it up)."""
    out = []
    for axis in axes:
        key, sep, values = axis.partition("=")
        items = [v for v in values.split(",") if v]
        if not sep or not items:
            raise ConfigError(f"--grid {axis!r}: expected key=v1,v2,..., "
                              "e.g. --grid model.disc=zoh,bilinear,dss")
        if key in (k for k, _ in out):
            raise ConfigError(f"--grid {key} given twice; list all its values in one --grid")
        if items == ["all"] and cfg is not None:
            items = [str(v) for v in choices(cfg, key)]
        out.append((key, items))
    return out


def plan(task: str, variant: str, runs_dir: str | Path, seeds: list[int],
         model: str | None = None, grid: list[str] | None = None) -> list[Run]:
    """The runs of a sweep, seeds innermost, in a fixed order."""
    axes = parse_grid(grid or [], get_config(task, variant, model=model))
    runs_dir = Path(runs_dir)
    out = []
    for point in itertools.product(*(values for _, values in axes)):
        assignments = tuple(f"{k}={v}" for (k, _), v in zip(axes, point, strict=True))
        for seed in seeds:
            if axes:
                name = ",".join(f"{k.rsplit('.', 1)[-1]}={v}"
                                for (k, _), v in zip(axes, point, strict=True))
                workdir = runs_dir / f"{task}-{variant}-sweep" / f"{name}-seed{seed}"
            else:
                workdir = runs_dir / f"{task}-{model or 'default'}-{variant}-seed{seed}"
            out.append(Run(workdir, seed, assignments))
    return out


def shard(runs: list[Run], spec: str | None) -> list[Run]:
    """The I-th of N interleaved slices of a sweep's runs ('I/N', 1 <= I <= N): N jobs of any
    scheduler, each given its own I, run the whole sweep between them."""
    if not spec:
        return runs
    i, sep, n = spec.partition("/")
    if not (sep and i.isdigit() and n.isdigit() and 1 <= int(i) <= int(n)):
        raise ConfigError(f"--shard {spec!r}: expected I/N with 1 <= I <= N, e.g. --shard 2/4")
    return runs[int(i) - 1 :: int(n)]


def summary(runs: list[Run], log=print) -> dict[str, list[Path]]:
    """Prints each run's state and records folder, then the counts; returns them by state."""
    by_state: dict[str, list[Path]] = {s: [] for s in STATES}
    for run in runs:
        state = run_state(run.workdir)
        by_state[state].append(run.workdir)
        log(f"  {state:<11} {run.workdir}")
    log("summary: " + ", ".join(f"{len(v)} {k}" for k, v in by_state.items() if v))
    return by_state


def sweep(task: str, variant: str, data_dir: str | Path, runs_dir: str | Path, seeds: list[int],
          *, model: str | None = None, grid: list[str] | None = None,
          overrides: list[str] | None = None, launcher: str = "serial", jobs: int | None = None,
          part: str | None = None, cluster: Cluster | None = None, wait: bool = False,
          log=print) -> dict[str, list[Path]]:
    """Runs (or launches) every point of plan() that has not ended; returns the workdirs by
    state (STATES), with 'skipped' (ended before), 'done'/'failed' (ran here, serial) and
    'jobs' (submitit's, slurm and submitit-local)."""
    runs = shard(plan(task, variant, runs_dir, seeds, model, grid), part)
    overrides = list(overrides or [])
    configs = {r.workdir: get_config(task, variant, [*overrides, *r.overrides, f"seed={r.seed}"],
                                     model=model) for r in runs}  # all checked before any runs
    todo, outcome = [], {"done": [], "failed": [], "skipped": []}
    for i, run in enumerate(runs, 1):
        ended = [n for n in ENDED if (run.workdir / n).exists()]
        if ended:
            log(f"[{i}/{len(runs)}] {run.workdir}: already ended ({ended[0]}); skipped (delete "
                "the folder to redo it)")
            outcome["skipped"].append(run.workdir)
        elif is_locked(run.workdir):
            who = holder(run.workdir) or {}
            log(f"[{i}/{len(runs)}] {run.workdir}: running elsewhere (process {who.get('pid')} "
                f"on {who.get('host')}); skipped")
            outcome["skipped"].append(run.workdir)
        else:
            todo.append(run)
    argv = {r.workdir: train_argv(r, task=task, variant=variant, data_dir=data_dir,
                                  model=model, overrides=overrides) for r in todo}
    if launcher == "serial":
        _serial(todo, configs, data_dir, outcome, log)
    elif launcher == "local":
        signum = run_local([(r.workdir, argv[r.workdir]) for r in todo], jobs, log)
        if signum:
            summary(runs, log)
            raise Interrupted(signum, -1, Path(runs_dir), what="the sweep")
    elif launcher in LAUNCHERS:
        outcome["jobs"] = _submit(todo, argv, launcher, Path(runs_dir), cluster or Cluster(),
                                  wait, log)
    else:
        raise ConfigError(f"--launcher {launcher}: choose one of {', '.join(LAUNCHERS)}")
    log(f"sweep: {len(outcome['done'])} run, {len(outcome['failed'])} failed, "
        f"{len(outcome['skipped'])} skipped; records under {runs_dir}")
    return {**summary(runs, log), **outcome}


def _serial(todo, configs, data_dir, outcome, log) -> None:
    """The runs one after another in this process (a signal stops the whole sweep)."""
    from lra.train import train_and_evaluate

    for i, run in enumerate(todo, 1):
        cfg = configs[run.workdir]
        head = f"[{i}/{len(todo)}] {run.workdir}"
        log(f"{head}: {' '.join(run.overrides) or 'config as written'}, seed {run.seed}")
        try:
            train_and_evaluate(cfg, run.workdir, data_dir, log=log)
        except TrainingError as e:
            if not (run.workdir / "failure.json").exists():
                raise  # refused before training (e.g. a foreign workdir): the user must act
            log(f"{head}: FAILED, recorded in failure.json: {e}")
            outcome["failed"].append(run.workdir)
            continue
        outcome["done"].append(run.workdir)


def _submit(todo, argv, launcher, runs_dir: Path, cluster: Cluster, wait: bool, log) -> list:
    """One job array for the runs still to do; waits for it if asked. Returns submitit's jobs."""
    if not todo:
        return []
    folder = runs_dir / "submitit" / "%j"
    jobs = submit([(r.workdir, argv[r.workdir]) for r in todo], launcher, folder, cluster)
    for run, job in zip(todo, jobs, strict=True):
        log(f"submitted job {job.job_id}: {run.workdir} (logs: {job.paths.stdout})")
    if wait:
        for run, job in zip(todo, jobs, strict=True):
            try:
                log(f"job {job.job_id} ended: {job.result()} ({run.workdir})")
            except Exception as e:  # submitit re-raises the task's error; the summary shows it
                log(f"job {job.job_id} failed: {str(e).strip().splitlines()[-1]}")
    return jobs
