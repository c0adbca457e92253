"""AdamW with S4's parameter groups and cosine-with-warmup schedules.

Groups (lra-reference §3, "SSM parameters and weight decay"):
  ssm     A and B (matched by optim.ssm_params): lr optim.ssm_lr, no weight decay.
  dt      log Δ (matched by optim.dt_params): lr optim.dt_lr (or the global lr), no weight decay.
  default everything else: lr optim.lr, weight decay optim.weight_decay.
Every group's lr follows the same schedule shape (linear warmup from 0, cosine decay to 0), as
S4's LambdaLR scales all groups together. Each pattern must match at least one parameter: a
pattern that matches nothing is the silent bug S5 had with its norm group (user-needs §13).
"""

from __future__ import annotations

import re
from typing import Any

import jax
import optax

from lra.configs.common import OptimConfig
from lra.errors import ConfigError

GROUPS = ("ssm", "dt", "default")


def path_str(path: tuple) -> str:
    """'block_0/S4D_0/kernel/B' for a pytree key path."""
    return jax.tree_util.keystr(path, simple=True, separator="/")


def param_labels(params: Any, cfg: OptimConfig) -> Any:
    """A pytree like params holding each leaf's group name. Raises if a group matches nothing."""
    patterns = {"ssm": re.compile(cfg.ssm_params), "dt": re.compile(cfg.dt_params)}

    def label(path, _):
        name = path_str(path)
        return next((g for g, rx in patterns.items() if rx.search(name)), "default")

    labels = jax.tree_util.tree_map_with_path(label, params)
    used = set(jax.tree.leaves(labels))
    for group, rx in patterns.items():
        if group not in used:
            raise ConfigError(
                f"optim.{group}_params={rx.pattern!r} matches no parameter; parameter paths look "
                f"like {path_str(jax.tree_util.tree_flatten_with_path(params)[0][0][0])!r}"
            )
    return labels


def group_table(params: Any, labels: Any) -> dict[str, str]:
    """{parameter path: group}, written to the run record so the grouping can be audited."""
    flat = jax.tree_util.tree_flatten_with_path(labels)[0]
    return {path_str(path): group for path, group in flat}


def schedule(peak: float, warmup_steps: int, total_steps: int) -> optax.Schedule:
    """Linear warmup 0 -> peak over warmup_steps, then cosine to 0 at total_steps."""
    warmup_steps = min(warmup_steps, max(total_steps - 1, 0))
    return optax.warmup_cosine_decay_schedule(0.0, peak, warmup_steps, max(total_steps, 1))


def make_optimizer(
    params: Any, cfg: OptimConfig, total_steps: int
) -> tuple[optax.GradientTransformation, Any, dict[str, optax.Schedule]]:
    """Returns (optimizer, labels, {group: lr schedule})."""
    labels = param_labels(params, cfg)
    lrs = {"ssm": cfg.ssm_lr, "dt": cfg.lr if cfg.dt_lr is None else cfg.dt_lr, "default": cfg.lr}
    wds = {"ssm": 0.0, "dt": 0.0, "default": cfg.weight_decay}
    schedules = {g: schedule(lrs[g], cfg.warmup_steps, total_steps) for g in GROUPS}
    transforms = {
        g: optax.adamw(schedules[g], b1=cfg.b1, b2=cfg.b2, eps=1e-8, weight_decay=wds[g])
        for g in GROUPS
    }
    return optax.partition(transforms, labels), labels, schedules
