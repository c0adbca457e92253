"""Live dashboards: metric writers for TensorBoard and Weights & Biases (lra/logger.py's Writer).

metrics.jsonl stays the record the tables are built from; these writers show the same rows
while a run goes:

  train rows -> train/loss, train/accuracy, lr/<group> (each optimiser group's learning rate),
                speed/examples_per_s, speed/step_time_s
  val, test  -> val/loss, val/accuracy, test/loss, test/accuracy (one point per epoch)
  val rows of a run behind S4's sanity curve (lra/faults.py) -> alarm/behind_sanity (0 or 1)
                and alarm/sanity_expected

Every point's step is the optimiser step, so a dashboard lines up training and evaluation.

TensorBoard: event files in <workdir>/tensorboard/, written by tensorboardX (no TensorFlow). A
resumed run purges the points after its checkpoint's step, which it logs again.

Weights & Biases (the `wandb` extra): on when train.wandb names a project (or WANDB_PROJECT is
set). The run id is derived from the workdir's absolute path, so a resumed run, on any host that
mounts the workdir at the same path, continues the same W&B run. WANDB_MODE=offline works
without network (`wandb sync <workdir>/wandb/offline-run-*` uploads later).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

from lra.errors import ConfigError

TENSORBOARD_DIR = "tensorboard"


def scalars(row: dict[str, Any]) -> dict[str, float]:
    """The dashboard's scalars of one metrics row (module docstring)."""
    split = row["split"]
    if split == "train":
        out = {"train/loss": row["loss"], "train/accuracy": row["accuracy"],
               "speed/examples_per_s": row["examples_per_s"],
               "speed/step_time_s": row["step_time_s"]}
        out.update({f"lr/{g}": v for g, v in row.get("lr_groups", {"default": row["lr"]}).items()})
        return out
    out = {f"{split}/loss": row["loss"], f"{split}/accuracy": row["accuracy"]}
    if "behind_sanity" in row:
        out["alarm/behind_sanity"] = float(row["behind_sanity"])
        out["alarm/sanity_expected"] = row["sanity_expected"]
    return out


def _need(module: str, extra: str, setting: str, off: str):
    try:
        return __import__(module)
    except ImportError:
        raise ConfigError(f"{setting} needs the {module} package: pip install "
                          f"'lra-s4d[{extra}]' (or pip install {module}), or {off}") from None


class TensorBoard:
    """Event files in <workdir>/tensorboard/ (opened at the first row, as metrics.jsonl)."""

    def __init__(self, workdir: Path, *, purge_step: int | None = None):
        _need("tensorboardX", "tensorboard", "train.tensorboard=true",
              "--set train.tensorboard=false")
        self.logdir = Path(workdir) / TENSORBOARD_DIR
        self.purge_step = purge_step
        self._w = None

    def write(self, row: dict[str, Any]) -> None:
        if self._w is None:
            from tensorboardX import SummaryWriter

            # The suffix keeps two sessions in one second from writing the same file.
            self._w = SummaryWriter(str(self.logdir), purge_step=self.purge_step, flush_secs=20,
                                    filename_suffix=f".{os.getpid()}.{time.time_ns()}")
        for tag, value in scalars(row).items():
            self._w.add_scalar(tag, value, global_step=row["step"])
        if row.get("behind_sanity"):
            self._w.add_text("alarm", sanity_message(row), global_step=row["step"])

    def close(self) -> None:
        if self._w is not None:
            self._w.close()
            self._w = None


def run_id(workdir: str | Path) -> str:
    """A W&B run id from the workdir's absolute path: the same folder, the same tracked run."""
    path = str(Path(workdir).resolve())
    return f"{Path(path).name[:40]}-{hashlib.sha1(path.encode()).hexdigest()[:12]}".replace(
        "=", "-").replace(",", "_")


class WandB:
    """A W&B run for the workdir (resume="allow": a resumed run continues it)."""

    def __init__(self, project: str, workdir: Path, config: dict[str, Any]):
        wandb = _need("wandb", "wandb", f"W&B logging to project {project!r}",
                      "leave train.wandb and WANDB_PROJECT empty")
        workdir = Path(workdir)
        self.run = wandb.init(project=project, id=run_id(workdir), resume="allow",
                              name=workdir.name, dir=str(workdir), config=config)
        self._alerted = False

    def write(self, row: dict[str, Any]) -> None:
        self.run.log(scalars(row), step=row["step"])
        if row.get("behind_sanity") and not self._alerted:
            self._alerted = True
            self.run.alert(title="behind S4's sanity curve", text=sanity_message(row))

    def close(self) -> None:
        self.run.finish()


def sanity_message(row: dict[str, Any]) -> str:
    return (f"epoch {row['epoch']}: val accuracy {row['accuracy']:.4f} is below "
            f"{row['sanity_expected']:.4f}, S4's healthy curve at this epoch")


def wandb_project(setting: str) -> str | None:
    """The W&B project a run logs to: train.wandb, else WANDB_PROJECT, else None (off)."""
    return setting or os.environ.get("WANDB_PROJECT") or None
