"""Orbax checkpoints of one run, and the bookkeeping that makes a resumed run the same run.

<workdir>/checkpoints/<step>/  the latest state (every train.checkpoint_every steps, at each
                               epoch's end, and when stopped by SIGTERM/SIGINT); one is kept.
<workdir>/best/<step>/         the state at the best validation accuracy so far; one is kept.

Each holds `state` (params, optimiser state, batch statistics, step) and `progress` (JSON: epoch,
steps done, the metric sums of the unfinished logging window, best epoch, per-epoch history,
training seconds). Data order and dropout keys derive from (seed, epoch) and the step, so
restoring both, and cutting metrics.jsonl back to the checkpoint (`Checkpoints.resume`),
reproduces the uninterrupted run exactly.

Saves are synchronous: the state of an LRA model is megabytes, and a save that is complete when
save() returns is what a SIGTERM handler needs.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import jax
import orbax.checkpoint as ocp

from lra import records


@dataclasses.dataclass
class Progress:
    """Where the trainer is, beyond the train state. JSON-serialisable."""

    epoch: int = 1  # the epoch being trained (or about to be)
    step: int = 0  # optimiser steps done
    window: dict = dataclasses.field(default_factory=dict)  # metric sums since the last log row
    best: dict = dataclasses.field(default_factory=lambda: {"val_accuracy": -1.0})
    history: list = dataclasses.field(default_factory=list)  # one row per finished epoch
    train_seconds: float = 0.0  # in training steps, all sessions
    seconds: float = 0.0  # wall time of the run, all sessions
    last_train_loss: float | None = None  # of the last logged training window
    behind_sanity: list = dataclasses.field(default_factory=list)  # epochs below the curve
    stopped_because: str | None = None  # why train.stop_when_stuck ended the run


def _state_tree(state) -> dict[str, Any]:
    return {"step": state.step, "params": state.params, "opt_state": state.opt_state,
            "batch_stats": state.batch_stats}


def latest_step(workdir: str | Path) -> int | None:
    """The step of the latest finished checkpoint in workdir, or None; reads only, creates
    nothing (the trainer's checks run before anything is written)."""
    folder = Path(workdir) / "checkpoints"
    return max(ocp.utils.checkpoint_steps(folder), default=None) if folder.is_dir() else None


class Checkpoints:
    """The run's two checkpoint folders; a context manager (`with Checkpoints(w) as ckpt:`)."""

    def __init__(self, workdir: str | Path):
        self.workdir = Path(workdir).resolve()
        options = ocp.CheckpointManagerOptions(max_to_keep=1, create=True,
                                               enable_async_checkpointing=False)
        self.latest = ocp.CheckpointManager(self.workdir / "checkpoints", options=options)
        self.best = ocp.CheckpointManager(self.workdir / "best", options=options)

    def __enter__(self) -> Checkpoints:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def latest_step(self) -> int | None:
        return self.latest.latest_step()

    def save(self, state, progress: Progress, *, best: bool = False) -> None:
        manager = self.best if best else self.latest
        args = ocp.args.Composite(state=ocp.args.StandardSave(_state_tree(state)),
                                  progress=ocp.args.JsonSave(dataclasses.asdict(progress)))
        if progress.step in manager.all_steps():  # a resumed run redoing a step: replace it
            manager.delete(progress.step)
        manager.save(progress.step, args=args, force=True)

    def steps(self) -> dict[str, list[int]]:
        """The steps each folder holds: {'latest': [...], 'best': [...]}."""
        return {"latest": list(self.latest.all_steps()), "best": list(self.best.all_steps())}

    def restore(self, state, *, best: bool = False, step: int | None = None):
        """(state, progress) from the latest (or best) checkpoint, or the one at `step` of that
        folder, into state's structure."""
        manager = self.best if best else self.latest
        step = manager.latest_step() if step is None else step
        target = jax.tree.map(ocp.utils.to_shape_dtype_struct, _state_tree(state))
        out = manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(target), progress=ocp.args.JsonRestore()))
        tree = out["state"]
        state = state.replace(step=tree["step"], params=tree["params"],
                              opt_state=tree["opt_state"], batch_stats=tree["batch_stats"])
        return state, Progress(**out["progress"])

    def resume(self, state, metrics: Path | None):
        """(state, progress) of the latest checkpoint, with the metrics file (if given: the
        process that writes it) cut back to the rows that checkpoint covers."""
        state, progress = self.restore(state)
        if metrics is not None:
            records.truncate_metrics(metrics, step=progress.step,
                                     epochs_done=len(progress.history))
        return state, progress

    def close(self) -> None:
        self.latest.close()
        self.best.close()
