"""Sizes and durations as the logs, reports and tables write them. No JAX: the modules that
read records (lra/targets.py) use them in processes that never start JAX."""

from __future__ import annotations


def size(n: int) -> str:
    """'3.21 GiB' or '27 MiB'."""
    gib, mib = 2**30, 2**20
    return f"{n / gib:.2f} GiB" if n >= gib else f"{n / mib:.0f} MiB"


def duration(seconds: float) -> str:
    """'1h05m' or '4m07s'."""
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else \
        f"{seconds // 60}m{seconds % 60:02d}s"


def short_duration(seconds: float) -> str:
    """'42.1 s' under a minute, else as `duration`."""
    return f"{seconds:.1f} s" if seconds < 60 else duration(seconds)
