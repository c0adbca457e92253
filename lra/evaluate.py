"""Scoring a saved model: `python -m lra evaluate` and `python -m lra predict`.

    python -m lra evaluate --workdir W [--checkpoint best|latest|STEP] [--split val|test|train]
                           [--data-dir D] [--set data.KEY=VALUE ...] [--out FILE]
    python -m lra predict --workdir W --out preds.csv [--split test] [--checkpoint best]
                          [--data-dir D] [--set data.KEY=VALUE ...]

The run's own config.json rebuilds the model; the checkpoint's weights and batch statistics are
restored into it; the split is scored by the trainer's own evaluation (lra/train.py `evaluate`:
the same batches, padding buckets and jitted step), so on the run's own data the accuracy equals
the logged one exactly. Other data is scored by pointing --data-dir elsewhere or changing a data
option (a Pathfinder model trained on curv_contour_length_14 scored on curv_baseline:
`--set data.difficulty=curv_baseline`); only data.* keys can change, the model is the run's.

evaluate writes <workdir>/eval-<split>-<checkpoint>[-<other data>].json; predict writes a CSV of
one row per example of the split, in the split's order: index, label, predicted, p_0..p_{C-1}.
Neither replaces a file holding another result.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import jax
import numpy as np

from lra import records, xla
from lra.build import max_length
from lra.checkpoint import Checkpoints, Progress
from lra.configs.common import Config, from_dict, override
from lra.distributed import DataParallel
from lra.errors import ConfigError, TrainingError
from lra.prepare import check_batches, init_state, jit_steps, load_task
from lra.steps import TrainState, predict_step
from lra.train import evaluate
from tasks.base import TaskData, atomic_write, batches

SPLITS = ("val", "test", "train")


@dataclasses.dataclass
class Restored:
    """A run's model at one checkpoint, with the data it is to score."""

    cfg: Config
    workdir: Path
    data: TaskData
    data_dir: str
    data_sets: tuple[str, ...]  # the data.* overrides
    own_data: bool  # the run's own data dir and data options
    length: int
    dp: DataParallel
    state: TrainState
    progress: Progress
    checkpoint: str  # 'best', 'latest' or a step, as asked
    step: int


def run_config(workdir: Path, data_sets: list[str]) -> tuple[Config, Config, dict]:
    """The run's config with the data.* overrides, as it was trained, and its config.json."""
    path = workdir / "config.json"
    if not path.exists():
        raise ConfigError(f"{workdir} holds no config.json: is it a run's workdir?")
    saved = json.loads(path.read_text())
    for item in data_sets:
        if not item.startswith("data."):
            raise ConfigError(f"--set {item}: only data.* keys can change here; the model and "
                              "its training are the run's")
    trained = from_dict(saved, str(path))
    return override(trained, data_sets), trained, saved


def _checkpoint(ckpt: Checkpoints, which: str, workdir: Path) -> tuple[bool, int]:
    """(from best/?, step) of 'best', 'latest' or a step number."""
    steps = ckpt.steps()
    if which in ("best", "latest") and steps[which]:
        return which == "best", max(steps[which])
    if which.isdigit():
        for folder in ("best", "latest"):
            if int(which) in steps[folder]:
                return folder == "best", int(which)
    held = ", ".join(f"{k} (step {max(v)})" for k, v in steps.items() if v) or "none"
    raise ConfigError(f"--checkpoint {which}: {workdir} holds no such checkpoint; it holds: "
                      f"{held}. Choose best, latest or one of those steps.")


def restore(workdir: str | Path, *, checkpoint: str = "best", data_dir: str | None = None,
            data_sets: list[str] | None = None) -> Restored:
    """The run in workdir at a checkpoint, and the data to score (default: the run's own)."""
    workdir, data_sets = Path(workdir), list(data_sets or [])
    cfg, trained, saved = run_config(workdir, data_sets)
    data_dir = str(data_dir or saved["data_dir"])
    dp = DataParallel()
    check_batches(cfg, dp)
    data = load_task(cfg, data_dir)
    length = max_length(cfg, data.spec)
    with Checkpoints(workdir) as ckpt:
        best, step = _checkpoint(ckpt, checkpoint, workdir)
        split = next(s for s in data.splits.values() if len(s))
        example = next(batches(split, cfg.train.batch_size, max_length=length,
                               min_bucket=cfg.train.min_bucket))
        shape = init_state(cfg, data.spec, example, max(cfg.optim.warmup_steps + 1, 2),
                           jax.random.key(0), jit=True)[0]
        state, progress = ckpt.restore(shape, best=best, step=step)
    own = (Path(data_dir).resolve() == Path(saved["data_dir"]).resolve()
           and cfg.data == trained.data)
    return Restored(cfg=cfg, workdir=workdir, data=data, data_dir=data_dir,
                    data_sets=tuple(data_sets), own_data=own, length=length, dp=dp,
                    state=dp.state(state, cfg.train.shard_params), progress=progress,
                    checkpoint=checkpoint, step=step)


def _split(r: Restored, split: str):
    if split not in SPLITS or split not in r.data.splits:
        raise ConfigError(f"--split {split}: choose one of {', '.join(SPLITS)}")
    return r.data.splits[split]


def logged(workdir: Path, split: str, step: int) -> float | None:
    """The accuracy metrics.jsonl logged for the split at that step (an epoch's end), if any."""
    path = workdir / "metrics.jsonl"
    rows = records.read_metrics(path) if path.exists() else []
    return next((r["accuracy"] for r in rows if r["split"] == split and r["step"] == step), None)


def default_out(r: Restored, split: str) -> Path:
    """eval-<split>-<checkpoint>.json; other data adds its options and a tag of its folder."""
    name = f"eval-{split}-{r.checkpoint}"
    if not r.own_data:
        tag = hashlib.sha1(str(Path(r.data_dir).resolve()).encode()).hexdigest()[:8]
        name += "".join(f"-{s.removeprefix('data.')}" for s in r.data_sets) + f"-data{tag}"
    return r.workdir / f"{name}.json"


def evaluate_run(workdir: str | Path, *, checkpoint: str = "best", split: str = "test",
                 data_dir: str | None = None, data_sets: list[str] | None = None,
                 out: str | Path | None = None) -> dict[str, Any]:
    """Scores a split with a checkpoint; writes and returns the record (module docstring)."""
    r = restore(workdir, checkpoint=checkpoint, data_dir=data_dir, data_sets=data_sets)
    eval_fn = jit_steps(r.cfg, r.dp, r.state)[1]
    ev = evaluate(eval_fn, r.state, _split(r, split), r.cfg, r.length, r.dp)
    record = {
        "workdir": str(r.workdir), "checkpoint": checkpoint, "step": r.step,
        "epochs_trained": len(r.progress.history), "split": split, **ev,
        "logged_accuracy": logged(r.workdir, split, r.step) if r.own_data else None,
        "own_data": r.own_data, "data": r.data.source, "data_dir": r.data_dir,
        "data_overrides": list(r.data_sets), "provenance": records.provenance(),
    }
    path = Path(out) if out else default_out(r, split)
    _refuse_other(path, record)
    if jax.process_index() == 0:
        records.write_json(path, record)
    return {**record, "path": str(path)}


def _refuse_other(path: Path, record: dict) -> None:
    """An existing record is replaced only by the same evaluation (same step, split, data)."""
    if not path.exists():
        return
    old = json.loads(path.read_text())
    same = ("step", "split", "data_dir", "data_overrides", "checkpoint")
    if any(old.get(k) != record[k] for k in same):
        raise TrainingError(f"{path} holds another evaluation (step {old.get('step')}, "
                            f"{old.get('split')}); nothing was changed. Pass --out FILE.")


def predict(workdir: str | Path, out: str | Path, *, checkpoint: str = "best",
            split: str = "test", data_dir: str | None = None,
            data_sets: list[str] | None = None) -> Path:
    """Writes one CSV row per example of the split: index, label, predicted, p_0..p_{C-1}."""
    out = Path(out)
    if out.exists():
        raise TrainingError(f"{out} exists; nothing was changed. Pass another --out, or delete it.")
    if jax.process_count() > 1:
        raise ConfigError("predict runs in one process; start it without the other hosts")
    r = restore(workdir, checkpoint=checkpoint, data_dir=data_dir, data_sets=data_sets)
    data = _split(r, split)
    fn = jax.jit(r.dp.traced(predict_step), out_shardings=r.dp.replicated,
                 compiler_options=xla.options(r.cfg))
    probs, labels = [], []
    for batch in batches(data, r.cfg.train.eval_batch_size, max_length=r.length,
                         min_bucket=r.cfg.train.min_bucket):
        real = batch["weights"] > 0
        probs.append(np.asarray(jax.device_get(fn(r.state, r.dp.put(batch))))[real])
        labels.append(batch["targets"][real])
    probs, labels = np.concatenate(probs), np.concatenate(labels)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out) as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["index", "label", "predicted", *(f"p_{c}" for c in range(probs.shape[1]))])
        for i, (label, p) in enumerate(zip(labels, probs, strict=True)):
            w.writerow([i, int(label), int(p.argmax()), *(f"{x:.6g}" for x in p)])
    return out
