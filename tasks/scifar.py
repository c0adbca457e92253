"""sCIFAR: CIFAR-10 in colour as a sequence of 1,024 RGB pixels (3 channels), 10 classes.

Not an LRA task; the S4D paper reports it. It is also this project's worked example of adding a
task (docs/adding-a-task.md): one file, one registry line, one config file. Same sources, split
(45,000 / 5,000, seed 42) and cache as tasks/image.py; pixels normalised per channel with the
CIFAR-10 training statistics that S4 uses (mean 0.4914, 0.4822, 0.4465; std 0.247, 0.243, 0.261).
"""

from tasks.base import TaskSpec
from tasks.image import EXPECTED_SIZES, SPLIT_SEED, CifarTask

SPEC = TaskSpec(
    name="scifar",
    num_classes=10,
    max_length=1024,
    in_dim=3,
    split_rule=f"train[45k] / val[5k]: seeded permutation (seed {SPLIT_SEED}) of CIFAR-10 train; "
               "test = CIFAR-10 test",
    title="sCIFAR",
    release_sizes=EXPECTED_SIZES,
)

TASK = CifarTask(SPEC, color=True, mean=(0.4914, 0.4822, 0.4465), std=(0.247, 0.243, 0.261))
