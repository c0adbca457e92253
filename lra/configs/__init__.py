"""Configs: one Python file per task, each with named variants (see lra/configs/common.py).

A run's config is: the task's variant, then a model preset (`--model`, `make ... MODEL=`), then
`--set` overrides, in that order. The tasks are those of the registry (tasks.TASKS); each has its
config file lra/configs/<task>.py with a `get_config(variant)`.
"""

from __future__ import annotations

import importlib
from typing import Any

from lra.configs import presets
from lra.configs.common import CHOSEN_KEYS, WATCH_KEYS, Config, flat, override, task_adapter
from lra.configs.presets import PRESETS, model_name, named_model
from lra.errors import ConfigError

MODELS = tuple(PRESETS)  # the names --model accepts


def _base(task: str, variant: str) -> Config:
    task_adapter(task)  # an unknown task is a ConfigError naming the known ones
    module = importlib.import_module(f"lra.configs.{task}")
    try:
        return module.get_config(variant)
    except KeyError:
        raise ConfigError(
            f"{task} has no config {variant!r}; see lra/configs/{task}.py for its variants"
        ) from None


def get_config(
    task: str, variant: str, overrides: list[str] | None = None, model: str | None = None
) -> Config:
    """The config of a task's variant, with a model preset and `section.key=value` overrides."""
    cfg = _base(task, variant)
    if model is not None:
        if model not in PRESETS:
            raise ConfigError(f"unknown model {model!r}; choose one of {', '.join(PRESETS)}")
        cfg = override(cfg, presets.overrides(model))
    return override(cfg, overrides or [])


def reference(task: str, variant: str) -> str | None:
    """The published config a task's variant follows (its file's REFERENCES), or None."""
    return getattr(importlib.import_module(f"lra.configs.{task}"), "REFERENCES", {}).get(variant)


def changes(cfg: Config) -> dict[str, Any]:
    """The dotted keys where cfg differs from its task's variant as written (the seed and the
    keys that only watch a run, WATCH_KEYS, aside, and the CHOSEN_KEYS a run resolved from
    its variant's 'auto').

    Stored in every run record, so a table can say "full config with train.epochs=5" and a
    shortened run never passes for the full one.
    """
    base = flat(_base(cfg.task, cfg.variant))
    return {k: v for k, v in flat(cfg).items()
            if k != "seed" and k not in WATCH_KEYS and base.get(k) != v
            and not (k in CHOSEN_KEYS and base.get(k) == "auto")}


__all__ = ["MODELS", "Config", "ConfigError", "changes", "get_config", "model_name",
           "named_model", "override", "reference"]
