"""`train.xla_flags`: XLA's options for the programs a run compiles.

The XLA_FLAGS environment variable sets XLA's options for every program of a process, and only
before JAX starts; a run records it (records.provenance) but cannot choose it. train.xla_flags,
written the same way, sets them per program (jax.jit's compiler_options) on what the run
compiles: its training and evaluation steps (lra/prepare.py jit_steps), model.conv=auto's timing
(lra/choose.py) and the benchmarks' steps (lra/bench.py). So one process can time several flag
sets (`lra bench --tune`), and the flags a run used are part of its config.json, compared on
resume like any key that changes what it computes.
"""

from __future__ import annotations

import functools

import jax

from lra.configs.common import Config, parse_xla_flags
from lra.errors import ConfigError, first_line


def options(cfg: Config) -> dict[str, str | bool] | None:
    """jax.jit's compiler_options for the config (None: XLA's defaults), checked."""
    check(cfg)
    return parse_xla_flags(cfg.train.xla_flags) or None


def check(cfg: Config) -> None:
    """Raises a one-line ConfigError if XLA does not take the config's flags: an option it does
    not have, or a value it cannot parse. Compiles a one-operation program with them, once per
    process and flag set. A run checks them first, before it loads its data."""
    _check(cfg.train.xla_flags)


@functools.cache
def _check(text: str) -> None:
    opts = parse_xla_flags(text)
    if not opts:
        return
    try:
        jax.jit(lambda x: x + 1, compiler_options=opts).lower(0.0).compile()
    except jax.errors.JaxRuntimeError as e:
        why = first_line(e).removeprefix("INVALID_ARGUMENT: ")
        raise ConfigError(f"train.xla_flags={text!r}: {why} (XLA_FLAGS=--help python -c "
                          "'import jax; jax.numpy.zeros(1)' lists XLA's flags)") from None
