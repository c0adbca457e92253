"""The one trainer: train_and_evaluate(config, workdir, data_dir) for every task.

Per epoch: train on the shuffled training split (last incomplete batch dropped, as S4), then
evaluate val and test on every example. The reported test accuracy is the one at the epoch of
best validation accuracy (S4's checkpoint rule, lra-reference §2 "Metric and evaluation").
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax.training import train_state
from tqdm import tqdm

import tasks
from lra import records
from lra.build import create_model, max_length, model_name
from lra.configs.common import Config, ConfigError, to_dict
from lra.optim import group_table, make_optimizer
from tasks.base import Split, TaskData, batches, num_batches


class TrainingError(Exception):
    """The run cannot go on (non-finite loss, a workdir holding another run, ...)."""


class TrainState(train_state.TrainState):
    batch_stats: Any


def model_inputs(batch: dict) -> tuple[tuple, dict]:
    """Positional and keyword arguments of the model for a batch (pair tasks add inputs2)."""
    extra = {k: batch[k] for k in ("inputs2", "lengths2") if k in batch}
    return (batch["inputs"], batch["lengths"]), extra


def zero_sums() -> dict[str, float]:
    """Running sums of the metrics that train_step and eval_step return."""
    return {"loss_sum": 0.0, "correct": 0.0, "count": 0.0}


def add_sums(totals: dict, out: dict) -> dict:
    return {k: totals[k] + out[k] for k in totals}


def cross_entropy(logits: jax.Array, batch: dict) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per-example (loss, correct, weight), each (B,)."""
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, batch["targets"])
    correct = (jnp.argmax(logits, -1) == batch["targets"]).astype(jnp.float32)
    return loss, correct, batch["weights"]


def train_step(state: TrainState, batch: dict, rng: jax.Array) -> tuple[TrainState, dict]:
    """One AdamW step on a batch. Returns the new state and summed metrics of the batch."""

    def loss_fn(params):
        args, extra = model_inputs(batch)
        logits, updates = state.apply_fn(
            {"params": params, "batch_stats": state.batch_stats}, *args, train=True,
            rngs={"dropout": rng}, mutable=["batch_stats"], **extra,
        )
        loss, correct, w = cross_entropy(logits, batch)
        # LayerNorm models have no batch statistics: the collection is then empty.
        return jnp.sum(loss * w) / jnp.sum(w), (updates.get("batch_stats", {}), correct, w)

    (loss, (stats, correct, w)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    state = state.apply_gradients(grads=grads, batch_stats=stats)
    n = jnp.sum(w)
    return state, {"loss_sum": loss * n, "correct": jnp.sum(correct * w), "count": n}


def eval_step(state: TrainState, batch: dict) -> dict:
    """Sums of loss and correct predictions over the batch's real examples (weights)."""
    args, extra = model_inputs(batch)
    logits = state.apply_fn(
        {"params": state.params, "batch_stats": state.batch_stats}, *args, train=False, **extra
    )
    loss, correct, w = cross_entropy(logits, batch)
    return {"loss_sum": jnp.sum(loss * w), "correct": jnp.sum(correct * w), "count": jnp.sum(w)}


def evaluate(eval_fn, state: TrainState, split: Split, cfg: Config, length: int) -> dict:
    totals = zero_sums()
    for batch in batches(
        split, cfg.train.eval_batch_size, max_length=length, min_bucket=cfg.train.min_bucket
    ):
        totals = add_sums(totals, eval_fn(state, batch))
    totals = jax.device_get(totals)
    count = float(totals["count"])
    return {
        "loss": float(totals["loss_sum"]) / count,
        "accuracy": float(totals["correct"]) / count,
        "count": int(count),
    }


def majority_baseline(data: TaskData) -> float:
    """Test accuracy of always predicting the most common training class."""
    majority = np.bincount(data.splits["train"].targets).argmax()
    return float(np.mean(data.splits["test"].targets == majority))


def load_task(cfg: Config, data_dir: str) -> TaskData:
    if cfg.task not in tasks.TASKS:
        raise ConfigError(f"unknown task {cfg.task!r}; known: {', '.join(tasks.TASKS)}")
    adapter = tasks.TASKS[cfg.task]
    options = {}
    if cfg.val_fraction:
        if cfg.task != "text":
            raise ConfigError(f"val_fraction applies to the text task only (IMDB has no val "
                              f"split); {cfg.task} has its own")
        if not 0 < cfg.val_fraction < 1:
            raise ConfigError(f"val_fraction must be in [0, 1), got {cfg.val_fraction}")
        options["val_fraction"] = cfg.val_fraction
    if cfg.difficulty is not None:
        if cfg.task not in ("pathfinder", "pathx"):
            raise ConfigError(f"difficulty applies to pathfinder and pathx only, not {cfg.task}")
        known = tasks.pathfinder.DIFFICULTIES
        if cfg.difficulty not in known:
            raise ConfigError(f"difficulty must be one of {', '.join(known)}; got "
                              f"{cfg.difficulty!r}")
        options["difficulty"] = cfg.difficulty
    return adapter.load(data_dir, max_length=max_length(cfg, adapter.SPEC), **options)


def train_and_evaluate(
    cfg: Config, workdir: str | Path, data_dir: str | Path, *, log=print
) -> dict[str, Any]:
    """Trains cfg on the task's data and writes config.json, metrics.jsonl and result.json."""
    t_start = time.time()
    workdir = Path(workdir)
    if any((workdir / name).exists() for name in ("metrics.jsonl", "result.json")):
        raise TrainingError(
            f"{workdir} already holds a run (metrics.jsonl/result.json); nothing was changed. "
            "Pass a new --workdir, or delete that folder to start over."
        )
    workdir.mkdir(parents=True, exist_ok=True)
    data = load_task(cfg, str(data_dir))
    spec = data.spec
    length = max_length(cfg, spec)
    train_split = data.splits["train"]
    bs = cfg.train.batch_size
    steps_per_epoch = num_batches(len(train_split), bs, drop_last=True)
    if steps_per_epoch == 0:
        raise ConfigError(
            f"train.batch_size={bs} exceeds the {len(train_split)} training examples"
        )
    total_steps = cfg.optim.total_steps or cfg.train.epochs * steps_per_epoch

    provenance = records.provenance()
    records.write_json(workdir / "config.json", {**to_dict(cfg), "data_dir": str(data_dir)})

    model = create_model(cfg, spec)
    init_key, dropout_key = jax.random.split(jax.random.key(cfg.seed))
    example = next(batches(train_split, bs, max_length=length, min_bucket=cfg.train.min_bucket))
    args, extra = model_inputs(example)
    variables = model.init(init_key, *args, train=False, **extra)
    tx, labels, schedules = make_optimizer(variables["params"], cfg.optim, total_steps)
    state = TrainState.create(
        apply_fn=model.apply, params=variables["params"], tx=tx,
        batch_stats=variables.get("batch_stats", {}),
    )
    num_params = int(sum(x.size for x in jax.tree.leaves(state.params)))
    records.write_json(workdir / "param_groups.json", group_table(state.params, labels))
    log(
        f"{cfg.task}/{cfg.variant}: {model_name(cfg)}, {num_params:,} parameters, "
        f"{len(train_split):,} train examples, {steps_per_epoch} steps/epoch, "
        f"{cfg.train.epochs} epochs, data: {data.source['kind']} ({data.source['path']})"
    )

    train_fn = jax.jit(train_step, donate_argnums=0)
    eval_fn = jax.jit(eval_step)
    metrics = records.MetricsLog(workdir / "metrics.jsonl")
    best: dict[str, Any] = {"val_accuracy": -1.0}
    history = []
    train_seconds = 0.0
    try:
        for epoch in range(1, cfg.train.epochs + 1):
            t_epoch = time.time()
            window = zero_sums()
            bar = tqdm(
                batches(train_split, bs, max_length=length, min_bucket=cfg.train.min_bucket,
                        shuffle_seed=[cfg.seed, epoch], drop_last=True),
                total=steps_per_epoch, desc=f"epoch {epoch}/{cfg.train.epochs}",
                leave=False, file=sys.stderr, disable=None,
            )
            for batch in bar:
                step = int(state.step)
                state, out = train_fn(state, batch, jax.random.fold_in(dropout_key, step))
                window = add_sums(window, out)
                if (step + 1) % cfg.train.log_every == 0 or step + 1 == epoch * steps_per_epoch:
                    w = jax.device_get(window)
                    loss, acc = float(w["loss_sum"] / w["count"]), float(w["correct"] / w["count"])
                    if not np.isfinite(loss):
                        raise TrainingError(
                            f"training loss became {loss} in the {int(w['count']) // bs} steps up "
                            f"to step {step + 1}; lower optim.lr or optim.ssm_lr, or check the data"
                        )
                    metrics.write(
                        split="train", epoch=epoch, step=step + 1, loss=loss, accuracy=acc,
                        lr=float(schedules["default"](step)), time=time.time() - t_start,
                    )
                    bar.set_postfix(loss=f"{loss:.3f}", acc=f"{acc:.3f}")
                    window = zero_sums()
            bar.close()
            train_seconds += time.time() - t_epoch
            row = {"epoch": epoch, "step": int(state.step)}
            for split in ("val", "test"):
                ev = evaluate(eval_fn, state, data.splits[split], cfg, length)
                metrics.write(split=split, **row, **ev, time=time.time() - t_start)
                row[f"{split}_accuracy"] = ev["accuracy"]
            history.append(row)
            if row["val_accuracy"] > best["val_accuracy"]:
                best = {"epoch": epoch, "val_accuracy": row["val_accuracy"],
                        "test_accuracy": row["test_accuracy"]}
            log(
                f"epoch {epoch}/{cfg.train.epochs}: val {row['val_accuracy']:.4f} "
                f"test {row['test_accuracy']:.4f} (best val {best['val_accuracy']:.4f} "
                f"@ epoch {best['epoch']}) [{time.time() - t_epoch:.1f}s]"
            )
    finally:
        metrics.close()

    result = {
        "task": cfg.task,
        "variant": cfg.variant,
        "model": model_name(cfg),
        "seed": cfg.seed,
        "status": "completed",
        "epochs_completed": len(history),
        "epochs_planned": cfg.train.epochs,
        "steps": int(state.step),
        "best_epoch": best["epoch"],
        "val_accuracy": best["val_accuracy"],
        "test_accuracy": best["test_accuracy"],
        "test_accuracy_last_epoch": history[-1]["test_accuracy"],
        "majority_baseline_test": majority_baseline(data),
        "selection": "test accuracy at the epoch of best validation accuracy",
        "num_params": num_params,
        "train_examples_per_second": len(history) * steps_per_epoch * bs / train_seconds,
        "wall_time_s": time.time() - t_start,
        "data": data.source,
        "provenance": provenance,
    }
    records.write_json(workdir / "result.json", result)
    log(
        f"test accuracy {result['test_accuracy']:.4f} at best val epoch {result['best_epoch']} "
        f"(majority class {result['majority_baseline_test']:.4f}); records in {workdir}"
    )
    return result
