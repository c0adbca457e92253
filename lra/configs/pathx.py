"""Path-X (Pathfinder 128x128, length 16,384) configs.

full: the S4D paper's run, state-spaces/s4 tag v3.0.0 `configs/experiment/lra/s4-lra-pathx.yaml`
  (lra-reference §3.1): 6 layers, H=256, N=64, BatchNorm, pre-norm, no dropout, 256 shared SSMs,
  bidirectional, mean pooling; AdamW lr 5e-4, wd 0.05, A, B and Δ at lr 5e-4; batch 16, 50
  epochs, cosine over 500k steps with 10k warmup; Δ in [1e-4, 0.1] (the small Δ_min is what lets
  S4D see across 16k steps); seed 1112. Paper accuracy (S4D-Inv): 92.80.
  COMMAND: python -m lra train --task pathx --config full --data-dir DATA --workdir runs/pathx
smoke: a tiny model for a few seconds on a CPU (tests).
"""

from lra.configs.common import Config, ModelConfig, OptimConfig, TrainConfig, smoke_config

# The reference each variant follows, named in its run records and tables.
V3 = "state-spaces/s4 v3.0.0 configs/experiment/"
REFERENCES = {
    "full": V3 + "lra/s4-lra-pathx.yaml",
}


def get_config(variant: str) -> Config:
    if variant == "full":
        return Config(
            task="pathx",
            variant="full",
            seed=1112,
            model=ModelConfig(d_model=256, n_layers=6, d_state=64, a_init="inv", n_ssm=256,
                              dt_min=1e-4, dt_max=0.1, norm="batch", prenorm=True, dropout=0.0,
                              pool="mean"),
            optim=OptimConfig(lr=5e-4, weight_decay=0.05, ssm_lr=5e-4, dt_lr=5e-4,
                              warmup_steps=10_000, total_steps=500_000),
            train=TrainConfig(batch_size=16, eval_batch_size=32, epochs=50, chance_epochs=5),
        )
    if variant == "smoke":
        return smoke_config("pathx", batch_size=4, eval_batch_size=4)
    raise KeyError(variant)
