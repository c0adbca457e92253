"""Image (grayscale CIFAR-10) configs.

full: the S4D paper's run, state-spaces/s4 tag v3.0.0 `configs/experiment/lra/s4-lra-cifar.yaml`
  (lra-reference §3.1): 6 layers, H=512, N=64, LayerNorm, post-norm, tied dropout 0.1, 2 shared
  SSMs, bidirectional, mean pooling; AdamW lr 0.01, wd 0.05, A and B at lr 1e-3; batch 50,
  200 epochs, cosine over 200k steps with 1k warmup; Δ in [1e-3, 0.1]; seed 2222.
  Paper accuracy (S4D-Inv): 87.83.
  COMMAND: python -m lra train --task image --config full --data-dir DATA --workdir runs/image
smoke: a tiny model for a few seconds on a CPU (tests).
"""

from lra.configs.common import Config, ModelConfig, OptimConfig, TrainConfig, smoke_config

# The reference each variant follows, named in its run records and tables.
V3 = "state-spaces/s4 v3.0.0 configs/experiment/"
REFERENCES = {
    "full": V3 + "lra/s4-lra-cifar.yaml",
}


def get_config(variant: str) -> Config:
    if variant == "full":
        return Config(
            task="image",
            variant="full",
            seed=2222,
            model=ModelConfig(d_model=512, n_layers=6, d_state=64, a_init="inv", n_ssm=2,
                              norm="layer", prenorm=False, dropout=0.1, pool="mean"),
            optim=OptimConfig(lr=0.01, weight_decay=0.05, ssm_lr=1e-3, dt_lr=None,
                              warmup_steps=1000, total_steps=200_000),
            train=TrainConfig(batch_size=50, eval_batch_size=100, epochs=200),
        )
    if variant == "smoke":
        return smoke_config("image")
    raise KeyError(variant)
