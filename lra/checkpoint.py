"""Orbax checkpoints of one run, and the bookkeeping that makes a resumed run the same run.

<workdir>/checkpoints/<step>/  the latest state (every train.checkpoint_every steps, at each
                               epoch's end, and when stopped by SIGTERM/SIGINT); one is kept.
<workdir>/best/<step>/         the state at the best validation accuracy so far; one is kept.

Each holds `state` (params, optimiser state, batch statistics, step) and `progress` (JSON: epoch,
steps done, the metric sums of the unfinished logging window, best epoch, per-epoch history,
training seconds). Data order and dropout keys derive from (seed, epoch) and the step, so
restoring both reproduces the uninterrupted run exactly.

Saves are synchronous: the state of an LRA model is megabytes, and a save that is complete when
save() returns is what a SIGTERM handler needs.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import jax
import orbax.checkpoint as ocp


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


def _state_tree(state) -> dict[str, Any]:
    return {"step": state.step, "params": state.params, "opt_state": state.opt_state,
            "batch_stats": state.batch_stats}


class Checkpoints:
    def __init__(self, workdir: str | Path):
        workdir = Path(workdir).resolve()
        options = ocp.CheckpointManagerOptions(max_to_keep=1, create=True,
                                               enable_async_checkpointing=False)
        self.latest = ocp.CheckpointManager(workdir / "checkpoints", options=options)
        self.best = ocp.CheckpointManager(workdir / "best", options=options)

    def latest_step(self) -> int | None:
        return self.latest.latest_step()

    def save(self, state, progress: Progress, *, best: bool = False) -> None:
        manager = self.best if best else self.latest
        args = ocp.args.Composite(state=ocp.args.StandardSave(_state_tree(state)),
                                  progress=ocp.args.JsonSave(dataclasses.asdict(progress)))
        if progress.step in manager.all_steps():  # a resumed run redoing a step: replace it
            manager.delete(progress.step)
        manager.save(progress.step, args=args, force=True)

    def restore(self, state, *, best: bool = False):
        """(state, progress) from the latest (or best) checkpoint, into state's structure."""
        manager = self.best if best else self.latest
        step = manager.latest_step()
        target = jax.tree.map(ocp.utils.to_shape_dtype_struct, _state_tree(state))
        out = manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(target), progress=ocp.args.JsonRestore()))
        tree = out["state"]
        state = state.replace(step=tree["step"], params=tree["params"],
                              opt_state=tree["opt_state"], batch_stats=tree["batch_stats"])
        return state, Progress(**out["progress"])

    def close(self) -> None:
        self.latest.close()
        self.best.close()
