"""The run's metric rows and the timing behind them, handed to writers.

The training loop tells the logger what happened (`add` a step's metrics, `log_train` at a
logging step, `log_eval` after evaluating a split); the logger keeps the window (metric sums of
the steps since the last row), the run's wall time over all its sessions, step time, examples/s
and the time left, and gives each row to every writer. A writer is anything with
`write(row)` and `close()`: `records.MetricsFile` (metrics.jsonl, the record the tables are
built from) is one; a dashboard writer is another, added without touching the loop.

Rows: {"split": "train", "epoch", "step", "loss", "accuracy", "lr" (the default group's),
"lr_groups" ({group: lr}), "time", "step_time_s", "examples_per_s"} every train.log_every steps
and at each epoch's end, and {"split": "val" | "test", "epoch", "step", "loss", "accuracy",
"count", "time"} after each epoch; a val row of a run with a healthy curve (train.sanity) adds
"behind_sanity" and "sanity_expected". `time` is the
run's wall time in seconds, all sessions together.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol

import jax

from lra.steps import add_sums, zero_sums


class Writer(Protocol):
    def write(self, row: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class MetricLogger:
    """Windows, throughput, ETA and metric rows; a context manager that closes its writers.

    batch_size: examples per step. run_steps: the run's steps (epochs × steps per epoch), for
    the time left. started: time.time() when this session began.
    """

    def __init__(self, writers: Sequence[Writer], *, batch_size: int, run_steps: int,
                 started: float):
        self.writers = list(writers)
        self.batch_size, self.run_steps, self.started = batch_size, run_steps, started
        self.earlier = 0.0  # wall time of the run's earlier sessions
        self.window: dict = zero_sums()
        self.start_clock()

    def __enter__(self) -> MetricLogger:
        return self

    def __exit__(self, *exc) -> None:
        for w in self.writers:
            w.close()

    def resume(self, seconds: float, window: dict) -> None:
        """Continues a run: its earlier sessions' wall time and its half-filled window."""
        self.earlier = seconds
        self.window = {**zero_sums(), **window}

    def now(self) -> float:
        """The run's wall time so far, all sessions."""
        return self.earlier + time.time() - self.started

    def start_clock(self) -> None:
        """Step times count from here: each epoch's start (evaluation is no training step) and
        each new window."""
        self._t, self._steps = time.time(), 0

    def add(self, out: dict) -> None:
        """A training step's summed metrics (train_step's second output)."""
        self.window = add_sums(self.window, out)
        self._steps += 1

    def window_sums(self) -> dict[str, float]:
        """The window's loss/correct/count sums, as a checkpoint keeps them."""
        return {k: float(self.window[k]) for k in zero_sums()}

    def log_train(self, *, epoch: int, step: int, lrs: dict[str, float]) -> dict[str, Any]:
        """Writes the window as a train row and starts a new one; lrs: each optimiser group's
        learning rate at this step. Returns the row, with `left_s`, the estimated seconds to
        the end of the run."""
        w = jax.device_get(self.window)
        seconds = time.time() - self._t
        row = {"split": "train", "epoch": epoch, "step": step,
               "loss": float(w["loss_sum"] / w["count"]),
               "accuracy": float(w["correct"] / w["count"]), "lr": lrs["default"],
               "lr_groups": lrs, "time": self.now(),
               "step_time_s": seconds / self._steps,
               "examples_per_s": self._steps * self.batch_size / seconds}
        self._write(row)
        left = (self.run_steps - step) * seconds / self._steps
        self.window = zero_sums()
        self.start_clock()
        return {**row, "left_s": left}

    def log_eval(self, split: str, *, epoch: int, step: int, result: dict) -> None:
        self._write({"split": split, "epoch": epoch, "step": step, **result, "time": self.now()})

    def _write(self, row: dict[str, Any]) -> None:
        for w in self.writers:
            w.write(row)

