"""sCIFAR (CIFAR-10 in colour, 3 channels) configs: the worked example of adding a task.

full: the Image task's S4D config (lra/configs/image.py) on 3-channel input. The S4D paper
  reports sCIFAR separately with its own settings, which lra-reference does not list; this config
  is ours, not the paper's, and run records say so through the variant name.
  COMMAND: python -m lra train --task scifar --config full --data-dir DATA --workdir runs/scifar
smoke: a tiny model for a few seconds on a CPU (tests).
"""

import dataclasses

from lra.configs import image
from lra.configs.common import Config, smoke_config


def get_config(variant: str) -> Config:
    if variant == "full":
        return dataclasses.replace(image.get_config("full"), task="scifar")
    if variant == "smoke":
        return smoke_config("scifar")
    raise KeyError(variant)
