"""Text (IMDB, characters) configs.

full: the S4D paper's run, state-spaces/s4 tag v3.0.0 `configs/experiment/lra/s4-lra-imdb.yaml`
  (lra-reference §3.1): 6 layers, H=256, N=64, BatchNorm, pre-norm, no dropout, per-channel SSMs,
  bidirectional, mean pooling; AdamW lr 0.01, wd 0.05, A and B at lr 1e-3; batch 16, 32 epochs,
  cosine over 50k steps with 1k warmup; Δ in [1e-3, 0.1]; seed 2222; length 4,096.
  Paper accuracy (S4D-Inv): 87.34. Val is the IMDB test split, as in LRA and S4.
  COMMAND: python -m lra train --task text --config full --data-dir DATA --workdir runs/text
smoke: a tiny model for a few seconds on a CPU (tests).
"""

from lra.configs.common import Config, ModelConfig, OptimConfig, TrainConfig, smoke_config

# The reference each variant follows, named in its run records and tables.
V3 = "state-spaces/s4 v3.0.0 configs/experiment/"
REFERENCES = {
    "full": V3 + "lra/s4-lra-imdb.yaml",
}


def get_config(variant: str) -> Config:
    if variant == "full":
        return Config(
            task="text",
            variant="full",
            seed=2222,
            model=ModelConfig(d_model=256, n_layers=6, d_state=64, a_init="inv", norm="batch",
                              prenorm=True, dropout=0.0, pool="mean"),
            optim=OptimConfig(lr=0.01, weight_decay=0.05, ssm_lr=1e-3, dt_lr=None,
                              warmup_steps=1000, total_steps=50_000),
            train=TrainConfig(batch_size=16, eval_batch_size=32, epochs=32),
        )
    if variant == "smoke":
        return smoke_config("text")
    raise KeyError(variant)
