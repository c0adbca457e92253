"""XLA's persistent compilation cache for the commands that run a model: `lra train`, `lra
sweep` (its runs), `lra evaluate` and `lra predict`.

A run compiles its training and evaluation steps once per padded length (lra/prepare.py), and
model.conv=auto and model.remat=auto compile their candidates. Every start of the same config
compiles the same programs again: a resumed or requeued run, each seed of a sweep, `lra
evaluate` of a saved run. JAX can keep compiled programs on disk and read them back (its
persistent compilation cache, keyed by the program, its compile options, the devices and the
jax and jaxlib versions): the same executable, so the same numbers, without the compile. On
a GPU it also keeps XLA's autotuning results (jax_persistent_cache_enable_xla_caches).

Where (`where`, first match):
1. LRA_COMPILE_CACHE=off: no cache, whatever else is set;
2. JAX_COMPILATION_CACHE_DIR: JAX's own setting, left to JAX;
3. LRA_COMPILE_CACHE=DIR;
4. $LRA_CACHE_DIR/xla, i.e. ~/.cache/lra-s4d/xla by default, beside the data cache.

JAX treats the cache as trusted code: keep it out of directories that others can write.
Programs that compile in under MIN_COMPILE_S are not kept (JAX's
JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS overrides it). `lra bench` and `lra train
--dry-run` do not turn it on: they report compile times. A run's records say what the cache did
(`counts`): provenance.compile_cache names the directory, and result.json's compile_cache counts
the programs read back and written and the compile time saved, by JAX's own count.
"""

from __future__ import annotations

import os
from pathlib import Path

from lra.errors import ConfigError
from tasks.base import cache_dir

# Programs compiling faster than this are compiled again rather than kept. Measured on a ListOps
# `full` run's start (2 cores, tiny data; the second of two runs against the first):
# 1.0 s (JAX's default) kept 3 programs, 0.2 s and 0 kept most of what a start compiles.
MIN_COMPILE_S = 0.2
_events = {"hits": 0, "written": 0, "saved_s": 0.0}
_listening = False


def where() -> Path | str | None:
    """The cache directory the rules above give (None: off; the string 'jax' where JAX's own
    JAX_COMPILATION_CACHE_DIR applies). No JAX here."""
    ours = os.environ.get("LRA_COMPILE_CACHE", "").strip()
    if ours.lower() == "off":
        return None
    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return "jax"
    if ours:
        return Path(ours).expanduser()
    return cache_dir().expanduser() / "xla"


def enable() -> str | None:
    """Turns the cache on for this process as `where` says, before its first compile; returns
    the directory in use (None: off). A directory that cannot be made is a one-line error."""
    import jax

    _listen()
    place = where()
    if place is None:
        jax.config.update("jax_enable_compilation_cache", False)
        return None
    if place == "jax":
        return os.environ["JAX_COMPILATION_CACHE_DIR"]
    try:
        place.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        name = "LRA_COMPILE_CACHE" if os.environ.get("LRA_COMPILE_CACHE") else "LRA_CACHE_DIR"
        raise ConfigError(f"{name}: cannot make the compile cache {place} ({e.strerror}); set "
                          "LRA_COMPILE_CACHE to a directory of your own, or to off") from None
    if not os.access(place, os.W_OK):
        raise ConfigError(f"compile cache {place} is not writable; set LRA_COMPILE_CACHE to a "
                          "directory of your own, or to off")
    jax.config.update("jax_compilation_cache_dir", str(place))
    if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_S)
    return str(place)


def in_use() -> str | None:
    """The directory JAX keeps compiled programs in for this process (None: none), however it
    was set: by `enable`, or by JAX's own JAX_COMPILATION_CACHE_DIR."""
    import jax

    if not jax.config.jax_enable_compilation_cache:
        return None
    return jax.config.jax_compilation_cache_dir or None


def counts() -> dict[str, float]:
    """What the cache did in this process so far: programs read back ('hits'), programs
    compiled and written ('written') and the compile seconds saved ('saved_s'), as JAX's
    monitoring events report them. A run keeps its start's counts and takes the difference."""
    _listen()
    return dict(_events)


def since(before: dict[str, float]) -> dict[str, float]:
    now = counts()
    return {k: round(now[k] - before[k], 3) if k == "saved_s" else now[k] - before[k]
            for k in now}


def _listen() -> None:
    """Counts JAX's compilation-cache events (jax.monitoring, its public listener API), once
    per process."""
    global _listening
    if _listening:
        return
    import jax

    def event(name: str, **_) -> None:
        if name == "/jax/compilation_cache/cache_hits":
            _events["hits"] += 1
        elif name == "/jax/compilation_cache/cache_misses":  # JAX records it as it writes
            _events["written"] += 1

    def duration(name: str, seconds: float, **_) -> None:
        if name == "/jax/compilation_cache/compile_time_saved_sec":
            _events["saved_s"] += seconds

    jax.monitoring.register_event_listener(event)
    jax.monitoring.register_event_duration_secs_listener(duration)
    _listening = True
