"""The metric logger: windows, rows, timing across sessions, and any writer."""

import time

import numpy as np
import pytest

from lra.logger import MetricLogger
from lra.units import duration


class ListWriter:
    """A writer keeping its rows in memory: the Writer interface a dashboard would implement."""

    def __init__(self):
        self.rows, self.closed = [], False

    def write(self, row):
        self.rows.append(row)

    def close(self):
        self.closed = True


def step_out(loss, correct, n=4.0):
    return {"loss_sum": np.float32(loss * n), "correct": np.float32(correct),
            "count": np.float32(n), "bad_steps": np.float32(0)}


def test_train_rows_are_window_means_and_carry_timing():
    a, b = ListWriter(), ListWriter()
    with MetricLogger([a, b], batch_size=4, run_steps=10, started=time.time()) as logger:
        logger.add(step_out(1.0, 2))
        logger.add(step_out(3.0, 4))
        row = logger.log_train(epoch=1, step=2, lrs={"default": 0.5})
        logger.add(step_out(0.5, 1))
        logger.log_train(epoch=1, step=3, lrs={"default": 0.25})
        logger.log_eval("val", epoch=1, step=3, result={"accuracy": 0.5, "loss": 1.0, "count": 8})
    assert a.rows == b.rows and a.closed and b.closed
    first, second, val = a.rows
    assert (first["loss"], first["accuracy"], first["lr"]) == (2.0, 0.75, 0.5)  # 6/8 correct
    assert (second["loss"], second["accuracy"]) == (0.5, 0.25)  # a new window
    assert first["examples_per_s"] == pytest.approx(8 / (2 * first["step_time_s"]))
    assert row["left_s"] == pytest.approx(8 * first["step_time_s"], rel=1e-6)  # 8 steps to go
    assert "left_s" not in first  # the estimate is for the progress bar, not the record
    assert val == {"split": "val", "epoch": 1, "step": 3, "accuracy": 0.5, "loss": 1.0,
                   "count": 8, "time": val["time"]}
    assert 0 <= first["time"] <= second["time"] <= val["time"]


def test_a_resumed_session_continues_the_window_and_the_clock():
    w = ListWriter()
    logger = MetricLogger([w], batch_size=4, run_steps=10, started=time.time())
    logger.resume(100.0, {"loss_sum": 4.0, "correct": 1.0, "count": 4.0})
    logger.add(step_out(2.0, 3))
    logger.log_train(epoch=2, step=6, lrs={"default": 0.1})
    assert w.rows[0]["loss"] == 1.5 and w.rows[0]["accuracy"] == 0.5  # (4 + 8) / 8, 4/8
    assert 100.0 <= w.rows[0]["time"] < 110.0
    logger.add(step_out(1.0, 1))
    assert logger.window_sums() == {"loss_sum": 4.0, "correct": 1.0, "count": 4.0}


def test_duration():
    assert duration(247) == "4m07s" and duration(3900) == "1h05m"
