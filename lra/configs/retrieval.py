"""Retrieval (AAN) configs.

full: the S4D paper's run, state-spaces/s4 tag v3.0.0 `configs/experiment/lra/s4-lra-aan.yaml`
  (lra-reference §3.1): 6 layers, H=256, N=64, BatchNorm, pre-norm, no dropout, 256 shared SSMs
  (= one per channel), bidirectional, mean pooling into the two-tower [u, v, u−v, u·v] head;
  AdamW lr 0.01, wd 0.05, A and B at lr 1e-3; batch 64, 20 epochs, cosine over 50k steps with
  2.5k warmup; Δ in [1e-3, 0.1]; seed 2222; 4,000 characters per document.
  Paper accuracy (S4D-Inv): 91.09.
  COMMAND: python -m lra train --task retrieval --config full --data-dir DATA --workdir runs/aan
smoke: a tiny model for a few seconds on a CPU (tests).
"""

from lra.configs.common import Config, ModelConfig, OptimConfig, TrainConfig, smoke_config

# The reference each variant follows, named in its run records and tables.
V3 = "state-spaces/s4 v3.0.0 configs/experiment/"
REFERENCES = {
    "full": V3 + "lra/s4-lra-aan.yaml",
}


def get_config(variant: str) -> Config:
    if variant == "full":
        return Config(
            task="retrieval",
            variant="full",
            seed=2222,
            model=ModelConfig(d_model=256, n_layers=6, d_state=64, a_init="inv", n_ssm=256,
                              norm="batch", prenorm=True, dropout=0.0, pool="mean"),
            optim=OptimConfig(lr=0.01, weight_decay=0.05, ssm_lr=1e-3, dt_lr=None,
                              warmup_steps=2500, total_steps=50_000),
            train=TrainConfig(batch_size=64, eval_batch_size=64, epochs=20),
        )
    if variant == "smoke":
        return smoke_config("retrieval", batch_size=4, eval_batch_size=8)
    raise KeyError(variant)
