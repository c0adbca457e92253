"""Configs: one Python file per task, each with named variants (see lra/configs/common.py)."""

from __future__ import annotations

import importlib

from lra.configs.common import Config, ConfigError, override

TASK_CONFIGS = ("listops", "text", "retrieval", "image", "pathfinder", "pathx", "scifar")


def get_config(task: str, variant: str, overrides: list[str] | None = None) -> Config:
    """The config of a task's variant with `section.key=value` overrides applied."""
    if task not in TASK_CONFIGS:
        raise ConfigError(f"unknown task {task!r}; tasks with configs: {', '.join(TASK_CONFIGS)}")
    module = importlib.import_module(f"lra.configs.{task}")
    try:
        cfg = module.get_config(variant)
    except KeyError:
        raise ConfigError(
            f"{task} has no config {variant!r}; see lra/configs/{task}.py for its variants"
        ) from None
    return override(cfg, overrides or [])


__all__ = ["Config", "ConfigError", "get_config", "override"]
