"""`--set train.profile_steps=A:B`: a jax.profiler trace of training steps A..B-1.

The trace goes to <workdir>/profile/plugins/profile/<time>/ (.xplane.pb, and .trace.json.gz for
Perfetto), where TensorBoard's profile plugin finds it: `pip install tensorboard-plugin-profile`,
then `make tensorboard RUNS=<workdir>` (Profile tab). Pick steps after the first of an epoch:
step 1 includes compilation. The trace stops at step B-1 or at the epoch's end, whichever comes
first (evaluation is not a training step); a resumed run that starts past A traces nothing.
"""

from __future__ import annotations

from pathlib import Path

import jax

from lra.configs.common import parse_steps


class Profile:
    """Starts the trace before step A and stops it after step B-1 (1-based optimiser steps)."""

    def __init__(self, setting: str, folder: Path, log=print):
        self.window = parse_steps(setting) if setting else None
        self.folder, self.log, self.on = Path(folder), log, False

    def before(self, step: int) -> None:
        """Called before optimiser step `step` runs."""
        if self.window and step == self.window[0]:
            jax.profiler.start_trace(str(self.folder))
            self.on = True

    def after(self, step: int, out) -> None:
        """Called after step `step` with its outputs (waited for, so the trace holds it)."""
        if self.on and step >= self.window[1] - 1:
            self.stop(out, step)

    def stop(self, out=None, step: int | None = None) -> None:
        if self.on:
            jax.block_until_ready(out)
            jax.profiler.stop_trace()
            self.on = False
            self.log(f"profile of steps {self.window[0]}..{step}: {self.folder} (TensorBoard's "
                     "profile tab)")
