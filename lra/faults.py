"""What can go wrong in a long run, and how the trainer reports it: stop signals (decided by
every process together), non-finite steps named by parameter, and binary runs stuck at chance
(user-needs §1)."""

from __future__ import annotations

import signal
import threading

import jax
import numpy as np

from lra.configs.common import Config, parse_sanity
from lra.errors import TrainingError


class StopSignals:
    """Turns SIGTERM and SIGINT into a flag the training loop polls after each step.

    `poll()` is collective: in a run of several processes every process calls it at the same
    steps, the flags are gathered, and all of them learn the same answer at the same step. So
    a SIGTERM that reaches one host (a preempted node) makes every host save that step and stop;
    one process alone entering the save, which every process must join, would hang the run.
    The gather is one small all-gather per step, and only when there is more than one process.

    A second SIGINT (Ctrl-C twice) interrupts at once. Handlers can only be installed from the
    main thread; elsewhere the signals keep their usual effect.
    """

    def __enter__(self):
        self.signum, self._old = None, {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signum == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum

    def poll(self) -> int | None:
        """The signal that stops the run now (the same on every process), or None."""
        mine = self.signum or 0
        if jax.process_count() > 1:
            from jax.experimental import multihost_utils

            # SIGTERM (15) wins over SIGINT (2) when two hosts saw different signals.
            mine = int(np.max(multihost_utils.process_allgather(np.int32(mine))))
        return mine or None

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


def check_finite(window: dict, params, last_step: int) -> None:
    """Raises TrainingError naming the first non-finite step and parameters of a window."""
    if "bad_steps" not in window or float(window["bad_steps"]) == 0:
        return
    names = [jax.tree_util.keystr(path, simple=True, separator="/")
             for path, _ in jax.tree_util.tree_flatten_with_path(params)[0]]
    bad = [n for n, flag in zip(names, np.asarray(window["bad_grads"]), strict=True) if flag > 0]
    values = [n for n, leaf in zip(names, jax.tree.leaves(params), strict=True)
              if not np.isfinite(np.asarray(leaf)).all()]
    step = int(window["first_bad"]) + 1
    grads = (f"gradients not finite for {len(bad)} of {len(names)} parameters, first {bad[0]}"
             if bad else "gradients finite")
    raise TrainingError(
        f"non-finite loss or gradients at step {step} ({int(window['bad_steps'])} bad steps up to "
        f"step {last_step}): {grads}"
        + (f"; parameter values already not finite: {', '.join(values[:3])}" if values else "")
        + ". Those steps were skipped and nothing was saved after them: the last checkpoint is "
        "the last good state. Lower optim.lr or optim.ssm_lr, or check the data."
    )


def stuck_at_chance(cfg: Config, spec, history: list[dict]) -> bool | None:
    """Binary task, train loss within 0.01 of ln 2 at every epoch end from the budget on."""
    budget = cfg.train.chance_epochs
    if spec.num_classes != 2 or budget <= 0 or len(history) < budget:
        return None
    return all(abs(row["train_loss"] - np.log(2)) < 0.01 for row in history[budget - 1 :])


def sanity_points(cfg: Config) -> tuple[tuple[int, float], ...]:
    """The run's healthy curve: train.sanity's points; 'auto' = S4's sanity checkpoint for the
    task's full config (lra/report/paper.py SANITY), none for other configs; 'off' = none."""
    from lra.report.paper import SANITY

    setting = cfg.train.sanity
    if setting == "off" or (setting == "auto" and (cfg.variant != "full"
                                                    or cfg.task not in SANITY)):
        return ()
    if setting == "auto":
        epoch, percent = SANITY[cfg.task]
        return ((epoch, percent / 100.0),)
    return parse_sanity(setting)


def sanity_expected(points, epoch: int, chance: float) -> float | None:
    """The healthy curve at `epoch`: straight lines from (0, chance) through the points, flat
    after the last. A healthy run's curve rises faster than a straight line (it is concave), so
    one below the line is behind. None without points."""
    if not points:
        return None
    previous = (0, chance)
    for e, acc in points:
        if epoch <= e:
            (e0, a0) = previous
            return a0 + (acc - a0) * (epoch - e0) / (e - e0)
        previous = (e, acc)
    return points[-1][1]


def sick(cfg: Config, spec, history: list[dict]) -> str | None:
    """Why the run is not worth finishing, or None: stuck at chance (binary tasks), or past the
    last point of its healthy curve and still below it (S4's V3 configs reach its sanity
    checkpoint, so a run below it is not on its way to the paper's number)."""
    if stuck_at_chance(cfg, spec, history):
        return (f"stuck at chance: train loss is still ln 2 ± 0.01 after {len(history)} epochs "
                "(see README, Path-X)")
    points, row = sanity_points(cfg), history[-1] if history else None
    if points and row and row["epoch"] >= points[-1][0] and row["val_accuracy"] < points[-1][1]:
        return (f"behind S4's sanity curve: val accuracy {row['val_accuracy']:.4f} at epoch "
                f"{row['epoch']}, below {points[-1][1]:.4f} (due by epoch {points[-1][0]})")
    return None
