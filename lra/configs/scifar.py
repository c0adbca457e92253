"""sCIFAR (CIFAR-10 in colour, 3 channels, 1,024 steps) configs; also the worked example of
adding a task (docs/adding-a-task.md).

full: the S4D paper's sCIFAR model (its Table 9), state-spaces/s4 tag v3.0.0
  `configs/experiment/cifar/s4-cifar.yaml` with `model/s4.yaml`, `model/layer/s4.yaml` and
  `model/base.yaml` resolved (lra-reference §1.4): 6 layers, H=512, N=64, LayerNorm post-norm,
  tied dropout 0.1, 2 shared SSMs, bidirectional, GELU + GLU, mean pooling; AdamW lr 0.01,
  wd 0.05; Δ, A and B at lr 1e-3 without weight decay (`layer.lr`); batch 50, 200 epochs, cosine
  over 200k steps with 1k warmup; Δ in [1e-3, 0.1]; seed 2222; colour CIFAR-10, 45k/5k.
  Paper accuracy (S4D-Inv): 90.69 ± 0.06 (lra-reference §1.2).
  COMMAND: python -m lra train --task scifar --config full --data-dir DATA --workdir runs/scifar
ablation: the S4D paper's ablation setting, v3.0.0 `configs/experiment/cifar/s4-cifar-ablation.yaml`
  (lra-reference §1.4): 4 layers, H=128, N=64, LayerNorm post-norm, bidirectional, one shared
  SSM (`n_ssm` 1, the layer default), a position-wise Linear(H, H) after the SSM instead of the
  GLU (`postact: null`), GELU, tied dropout 0.1, mean pooling; AdamW lr 0.01, wd 0.01, Δ, A, B at
  lr 1e-3; batch 50, 100 epochs, cosine over 100k steps with 1k warmup; seed 1111. The
  initialisation is S4D-Inv unless the grid says otherwise (`make ablation`).
  COMMAND: make ablation  (the grid of init x discretisation x Re(A) over this config)
smoke: a tiny model for a few seconds on a CPU (tests).
"""

from lra.configs.common import Config, ModelConfig, OptimConfig, TrainConfig, smoke_config

# The reference each variant follows, named in its run records and tables.
V3 = "state-spaces/s4 v3.0.0 configs/experiment/"
REFERENCES = {
    "full": V3 + "cifar/s4-cifar.yaml",
    "ablation": V3 + "cifar/s4-cifar-ablation.yaml",
}


def get_config(variant: str) -> Config:
    if variant == "full":
        return Config(
            task="scifar",
            variant="full",
            seed=2222,
            model=ModelConfig(d_model=512, n_layers=6, d_state=64, a_init="inv", n_ssm=2,
                              norm="layer", prenorm=False, dropout=0.1, pool="mean",
                              postact="glu"),
            optim=OptimConfig(lr=0.01, weight_decay=0.05, ssm_lr=1e-3, dt_lr=1e-3,
                              warmup_steps=1000, total_steps=200_000),
            train=TrainConfig(batch_size=50, eval_batch_size=100, epochs=200),
        )
    if variant == "ablation":
        return Config(
            task="scifar",
            variant="ablation",
            seed=1111,
            model=ModelConfig(d_model=128, n_layers=4, d_state=64, a_init="inv", n_ssm=1,
                              norm="layer", prenorm=False, dropout=0.1, pool="mean",
                              postact="linear"),
            optim=OptimConfig(lr=0.01, weight_decay=0.01, ssm_lr=1e-3, dt_lr=1e-3,
                              warmup_steps=1000, total_steps=100_000),
            train=TrainConfig(batch_size=50, eval_batch_size=100, epochs=100),
        )
    if variant == "smoke":
        return smoke_config("scifar")
    raise KeyError(variant)
