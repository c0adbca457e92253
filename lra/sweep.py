"""Many runs from one command: seeds, and a grid of config values (the paper's ablations).

    python -m lra sweep --task listops --config full --model s4d-inv --seeds 0 1 2 \\
        --data-dir DATA --runs runs
    python -m lra sweep --task listops --config full --data-dir DATA --runs runs \\
        --grid model.a_init=legs,inv,lin,real,rand --grid model.disc=all

Each run gets its own workdir: `<runs>/<task>-<model>-<config>-seed<S>`, or for a grid
`<runs>/<task>-<config>-sweep/<key>=<value>,...-seed<S>` (key = the last part of its name). A run
whose workdir already holds result.json or failure.json is skipped, and one with a checkpoint is
resumed, so rerunning the command after a stop finishes the sweep. A run that diverges writes
failure.json and the sweep goes on; a signal (SIGTERM, Ctrl-C) stops the whole sweep.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

from lra.configs import get_config
from lra.configs.common import Config, choices
from lra.errors import ConfigError, TrainingError


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


def sweep(task: str, variant: str, data_dir: str | Path, runs_dir: str | Path, seeds: list[int],
          *, model: str | None = None, grid: list[str] | None = None,
          overrides: list[str] | None = None, log=print) -> dict[str, list[Path]]:
    """Runs every point of plan(); returns the workdirs by outcome: done, failed, skipped."""
    from lra.prepare import ENDED
    from lra.train import train_and_evaluate

    runs = plan(task, variant, runs_dir, seeds, model, grid)
    configs = [get_config(task, variant, [*(overrides or []), *r.overrides, f"seed={r.seed}"],
                          model=model) for r in runs]  # every config checked before any trains
    outcome: dict[str, list[Path]] = {"done": [], "failed": [], "skipped": []}
    for i, (run, cfg) in enumerate(zip(runs, configs, strict=True), 1):
        head = f"[{i}/{len(runs)}] {run.workdir}"
        ended = [n for n in ENDED if (run.workdir / n).exists()]
        if ended:
            log(f"{head}: already ended ({ended[0]}); skipped (delete the folder to redo it)")
            outcome["skipped"].append(run.workdir)
            continue
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
    log(f"sweep: {len(outcome['done'])} run, {len(outcome['failed'])} failed, "
        f"{len(outcome['skipped'])} skipped; records under {runs_dir}")
    return outcome
