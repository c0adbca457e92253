"""Every error a user can cause, in one light module (the command line imports only this).

Each message is one line that names the key, file or folder at fault and says what to do; the
command line prints it after `error: ` and exits with code 2. `Interrupted` is not a fault: a
stop signal ended the run after saving it, and the exit code is the shell's 128 + signal.
"""

from __future__ import annotations

import signal
from pathlib import Path

# Raised by the task adapters, which never import lra/ (tasks/ sits below it).
from tasks.base import DataError


class ConfigError(Exception):
    """A bad config name, key or value; the message says what is allowed."""


class TrainingError(Exception):
    """The run cannot go on (non-finite loss, a workdir holding another run, ...)."""


class ReportError(Exception):
    """No run records where the user pointed, or records that cannot be read."""


class Interrupted(Exception):
    """SIGTERM or SIGINT stopped the run after checkpointing it; the same command resumes it."""

    def __init__(self, signum: int, step: int, workdir: Path, what: str | None = None):
        self.exit_code = 128 + signum  # the shell's convention for "ended by this signal"
        self.step = step
        name = signal.Signals(signum).name
        super().__init__(
            f"{what} was stopped by {name}: each of its running runs saved its state under "
            f"{workdir}. Run the same command again to resume them." if what else
            f"stopped by {name} at step {step}; the state is saved in "
            f"{workdir}/checkpoints. Run the same command again to resume."
        )


def first_line(error: BaseException, limit: int | None = None) -> str:
    """An exception's message as one line, for a record or a one-line error: its first line (at
    most `limit` characters), or the exception's type where it has no message (XLA's runtime
    errors carry pages of context after the first line)."""
    text = str(error).strip()
    return text.splitlines()[0][:limit] if text else type(error).__name__


# What the command line reports as `error: <message>` with exit code 2.
USER_ERRORS = (ConfigError, DataError, TrainingError, ReportError)

__all__ = ["USER_ERRORS", "ConfigError", "DataError", "Interrupted", "ReportError",
           "TrainingError", "first_line"]
