"""ListOps configs.

full: the S4D paper's run, from state-spaces/s4 tag v3.0.0
  `configs/experiment/lra/s4-lra-listops.yaml` (lra-reference §3.1): 8 layers, H=128, N=64,
  BatchNorm, post-norm, no dropout, per-channel SSMs, bidirectional, GELU + GLU, mean pooling;
  AdamW lr 0.01, wd 0.05, A and B at lr 1e-3 (Δ at the global lr), batch 50, 40 epochs, cosine
  schedule over 80k steps with 1k warmup; Δ in [1e-3, 0.1]; seed 2222.
  Paper accuracy (S4D-Inv): 60.18 (lra-reference §1.1).
  COMMAND: python -m lra train --task listops --config full --data-dir DATA --workdir runs/listops
  Time: S4 reports 15 min/epoch on a T4 for its ListOps config (lra-reference §6); GPU needed.
smoke: a tiny model for a few seconds on a CPU (tests, `make listops-smoke`).
demo: what `make demo` trains on short generated ListOps on a CPU in a few minutes.
"""

from lra.configs.common import (
    DEMO_PATHS,
    Config,
    ModelConfig,
    OptimConfig,
    TrainConfig,
    smoke_config,
)

# The reference each variant follows, named in its run records and tables.
V3 = "state-spaces/s4 v3.0.0 configs/experiment/"
REFERENCES = {
    "full": V3 + "lra/s4-lra-listops.yaml",
}


def get_config(variant: str) -> Config:
    if variant == "full":
        return Config(
            task="listops",
            variant="full",
            seed=2222,
            model=ModelConfig(
                d_model=128, n_layers=8, d_state=64, a_init="inv", dt_min=1e-3, dt_max=1e-1,
                bidirectional=True, norm="batch", prenorm=False, dropout=0.0, pool="mean",
            ),
            optim=OptimConfig(
                lr=0.01, weight_decay=0.05, ssm_lr=1e-3, dt_lr=None,
                warmup_steps=1000, total_steps=80_000,
            ),
            train=TrainConfig(batch_size=50, eval_batch_size=100, epochs=40),
        )
    if variant == "smoke":
        return smoke_config("listops")
    if variant == "demo":
        return Config(
            task="listops",
            variant="demo",
            model=ModelConfig(d_model=64, n_layers=4, d_state=32, **DEMO_PATHS),
            optim=OptimConfig(lr=0.01, weight_decay=0.05, warmup_steps=200),
            train=TrainConfig(batch_size=32, eval_batch_size=250, epochs=12, log_every=50),
        )
    raise KeyError(variant)
