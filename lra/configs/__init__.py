"""Configs: one Python file per task, each with named variants (see lra/configs/common.py).

A run's config is: the task's variant, then a model preset (`--model`, `make ... MODEL=`), then
`--set` overrides, in that order.
"""

from __future__ import annotations

import importlib
from typing import Any

from lra.configs.common import Config, ConfigError, flat, override

TASK_CONFIGS = ("listops", "text", "retrieval", "image", "pathfinder", "pathx", "scifar")

# The S4D paper's named models as overrides of a task config (lra-reference §1.1). The variants
# differ only in A's initialisation; B is HiPPO's for LegS and all ones otherwise (b_init=auto).
# 'dss' is DSS-exp (Gupta, Gu, Berant): LegS's normal-part eigenvalues, B folded into C (ones),
# and the exponential-sum discretisation normalised over the length.
MODELS: dict[str, list[str]] = {
    "s4d-legs": ["model.a_init=legs", "model.b_init=auto", "model.disc=zoh"],
    "s4d-inv": ["model.a_init=inv", "model.b_init=auto", "model.disc=zoh"],
    "s4d-lin": ["model.a_init=lin", "model.b_init=auto", "model.disc=zoh"],
    "s4d-real": ["model.a_init=real", "model.b_init=auto", "model.disc=zoh"],
    "s4d-rand": ["model.a_init=rand", "model.b_init=auto", "model.disc=zoh"],
    "dss": ["model.a_init=legs", "model.b_init=ones", "model.disc=dss"],
}


def _base(task: str, variant: str) -> Config:
    if task not in TASK_CONFIGS:
        raise ConfigError(f"unknown task {task!r}; tasks with configs: {', '.join(TASK_CONFIGS)}")
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
        if model not in MODELS:
            raise ConfigError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
        cfg = override(cfg, MODELS[model])
    return override(cfg, overrides or [])


def changes(cfg: Config) -> dict[str, Any]:
    """The dotted keys where cfg differs from its task's variant as written (the seed aside).

    Stored in every run record, so a table can say "full config with train.epochs=5" and a
    shortened run never passes for the full one.
    """
    base = flat(_base(cfg.task, cfg.variant))
    return {k: v for k, v in flat(cfg).items() if k != "seed" and base.get(k) != v}


__all__ = ["MODELS", "Config", "ConfigError", "changes", "get_config", "override"]
