"""From a Config and a TaskSpec to a model. (Its name in the tables: lra/configs/presets.py.)"""

from __future__ import annotations

import jax.numpy as jnp

from lra.configs.common import Config
from lra.configs.presets import model_name
from lra.errors import ConfigError
from models.choices import ssm_options
from models.s4d import SSMConfig
from models.sequence import Backbone, SequenceClassifier
from tasks.base import TaskSpec


def max_length(cfg: Config, spec: TaskSpec) -> int:
    """Sequence length limit of a run: the config's override, else the task's own."""
    return cfg.max_length or spec.max_length


def ssm_config(cfg: Config, spec: TaskSpec) -> SSMConfig:
    """The layer's SSMConfig: the model section's SSM options, plus the length DSS needs.
    model.conv=auto must have been resolved (lra/choose.py) before a model is built."""
    if cfg.model.conv == "auto":
        raise ConfigError("model.conv=auto is chosen when a run starts (lra.choose.resolve); "
                          "set model.conv=fft or chunked to build a model without a run")
    m = cfg.model
    if m.n_ssm is not None and m.d_model % m.n_ssm:
        raise ConfigError(f"model.n_ssm={m.n_ssm} must divide model.d_model={m.d_model}")
    try:
        return SSMConfig(**ssm_options(m), l_max=max_length(cfg, spec))
    except ValueError as e:
        raise ConfigError(f"model: {e}") from None


def create_model(cfg: Config, spec: TaskSpec) -> SequenceClassifier:
    """The config's model; model.remat=auto must have been resolved (lra/fit.py)."""
    m = cfg.model
    if m.remat == "auto":
        raise ConfigError("model.remat=auto is chosen when a run starts (lra.fit.resolve); set "
                          "model.remat=true or false to build a model without a run")
    backbone = Backbone(
        vocab_size=spec.vocab_size,
        d_model=m.d_model,
        n_layers=m.n_layers,
        ssm=ssm_config(cfg, spec),
        dropout=m.dropout,
        norm=m.norm,
        prenorm=m.prenorm,
        pool=m.pool,
        dtype=jnp.dtype(m.dtype),
        remat=m.remat,
        postact=m.postact,
        padding=m.padding,
    )
    return SequenceClassifier(num_classes=spec.num_classes, backbone=backbone, paired=spec.paired)


__all__ = ["create_model", "max_length", "model_name", "ssm_config"]
