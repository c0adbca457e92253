"""Faults: stop signals (one flag per run, decided by all processes together), non-finite steps
named, binary runs at ln 2 flagged."""

import os
import signal
import time
from types import SimpleNamespace

import numpy as np
import pytest

from lra.configs import get_config
from lra.errors import TrainingError
from lra.faults import StopSignals, check_finite, stuck_at_chance


def test_a_signal_becomes_a_flag_and_the_old_handlers_come_back():
    before = signal.getsignal(signal.SIGTERM)
    with StopSignals() as stop:
        assert stop.poll() is None
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)
        assert stop.poll() == signal.SIGTERM  # the process is still alive: the loop decides
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.poll() == signal.SIGINT
        with pytest.raises(KeyboardInterrupt):  # Ctrl-C twice: at once
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_non_finite_window_names_the_step_and_the_parameters():
    params = {"decoder": {"bias": np.array([np.nan, 0.0]), "kernel": np.ones(2)}}
    window = {"bad_steps": 2.0, "first_bad": 6, "bad_grads": np.array([1.0, 0.0])}
    with pytest.raises(TrainingError, match=r"at step 7 \(2 bad steps up to step 9\): gradients "
                                            r"not finite for 1 of 2 parameters, first "
                                            r"decoder/bias; parameter values already not "
                                            r"finite: decoder/bias\. .*Lower optim.lr"):
        check_finite(window, params, 9)
    check_finite({**window, "bad_steps": 0.0}, params, 9)  # a clean window passes
    check_finite({"loss_sum": 1.0}, params, 9)  # a window without steps yet


def test_stuck_at_chance_flag():
    cfg = get_config("pathfinder", "smoke", ["train.chance_epochs=2"])
    binary, ten = SimpleNamespace(num_classes=2), SimpleNamespace(num_classes=10)
    ln2 = float(np.log(2))
    rows = [{"train_loss": ln2 + d} for d in (0.02, 0.004, -0.003)]
    assert stuck_at_chance(cfg, binary, rows[:1]) is None  # before the budget
    assert stuck_at_chance(cfg, binary, rows) is True
    assert stuck_at_chance(cfg, binary, [*rows, {"train_loss": 0.5}]) is False  # escaped
    assert stuck_at_chance(cfg, ten, rows) is None
    assert get_config("pathx", "full").train.chance_epochs == 5
