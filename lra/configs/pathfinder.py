"""Pathfinder (32x32) configs.

full: the S4D paper's run, state-spaces/s4 tag v3.0.0
  `configs/experiment/lra/s4-lra-pathfinder.yaml` (lra-reference §3.1): 6 layers, H=256, N=64,
  BatchNorm, pre-norm, no dropout, 256 shared SSMs, bidirectional, the last position as the
  decoder's input; AdamW lr 0.004, wd 0.03, A, B and Δ at lr 1e-3; batch 64, 200 epochs, cosine
  over 500k steps with 2.5k warmup; Δ in [1e-3, 0.1]; seed 2222. Paper accuracy (S4D-Inv): 93.78.
  COMMAND: python -m lra train --task pathfinder --config full --data-dir DATA --workdir runs/pf
smoke: a tiny model for a few seconds on a CPU (tests).
demo: what `make demo-pathfinder` trains on a CPU: 20,000 generated Pathfinder-32 images of the
  easiest difficulty (curv_baseline; 16,000 for training), a 4-layer H=64 S4D-Inv, pre-norm,
  batch 32, AdamW lr 0.004, 4 epochs (about 21 minutes on 2 cores). `make demo` runs it with
  train.epochs=2 (about 11 minutes), which its records and table state.
"""

from lra.configs.common import (
    DEMO_PATHS,
    Config,
    ModelConfig,
    OptimConfig,
    TrainConfig,
    smoke_config,
)
from tasks.pathfinder import Options

# The reference each variant follows, named in its run records and tables.
V3 = "state-spaces/s4 v3.0.0 configs/experiment/"
REFERENCES = {
    "full": V3 + "lra/s4-lra-pathfinder.yaml",
}


def get_config(variant: str) -> Config:
    if variant == "full":
        return Config(
            task="pathfinder",
            variant="full",
            seed=2222,
            model=ModelConfig(d_model=256, n_layers=6, d_state=64, a_init="inv", n_ssm=256,
                              norm="batch", prenorm=True, dropout=0.0, pool="last"),
            optim=OptimConfig(lr=0.004, weight_decay=0.03, ssm_lr=1e-3, dt_lr=1e-3,
                              warmup_steps=2500, total_steps=500_000),
            train=TrainConfig(batch_size=64, eval_batch_size=128, epochs=200),
        )
    if variant == "smoke":
        return smoke_config("pathfinder")
    if variant == "demo":
        return Config(
            task="pathfinder",
            variant="demo",
            data=Options(difficulty="curv_baseline"),
            model=ModelConfig(d_model=64, n_layers=4, d_state=64, prenorm=True, **DEMO_PATHS),
            optim=OptimConfig(lr=0.004, weight_decay=0.03, warmup_steps=100),
            train=TrainConfig(batch_size=32, eval_batch_size=200, epochs=4, log_every=25),
        )
    raise KeyError(variant)
