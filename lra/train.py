"""The one trainer: train_and_evaluate(config, workdir, data_dir) for every task.

Per epoch: train on the shuffled training split (last incomplete batch dropped, as S4), then
evaluate val and test on every example. The reported test accuracy is the one at the epoch of
best validation accuracy (S4's checkpoint rule, lra-reference §2 "Metric and evaluation").
"""

from __future__ import annotations

import functools
import json
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
from lra.checkpoint import Checkpoints, Progress
from lra.configs import changes
from lra.configs.common import Config, ConfigError, to_dict
from lra.distributed import DataParallel
from lra.faults import Interrupted, StopSignals, TrainingError, check_finite, stuck_at_chance
from lra.optim import group_table, make_optimizer
from tasks.base import Split, TaskData, batches, num_batches


class TrainState(train_state.TrainState):
    batch_stats: Any


def model_inputs(batch: dict) -> tuple[tuple, dict]:
    """Positional and keyword arguments of the model for a batch (pair tasks add inputs2)."""
    extra = {k: batch[k] for k in ("inputs2", "lengths2") if k in batch}
    return (batch["inputs"], batch["lengths"]), extra


def zero_sums() -> dict[str, float]:
    """Running sums of the metrics that eval_step (and train_step) return."""
    return {"loss_sum": 0.0, "correct": 0.0, "count": 0.0}


def add_sums(totals: dict, out: dict) -> dict:
    """Adds a step's metrics to running totals; keys missing from totals start from the step's."""
    return {k: (jnp.minimum if k == "first_bad" else jnp.add)(totals[k], v) if k in totals else v
            for k, v in out.items()}


def cross_entropy(logits: jax.Array, batch: dict) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per-example (loss, correct, weight), each (B,)."""
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, batch["targets"])
    correct = (jnp.argmax(logits, -1) == batch["targets"]).astype(jnp.float32)
    return loss, correct, batch["weights"]


def _grads(state: TrainState, stats, batch: dict, rng: jax.Array, total: jax.Array):
    """Gradient of sum(loss · weight) / total over a (micro-)batch, its loss share, new batch
    statistics and the number of correct predictions."""

    def loss_fn(params):
        args, extra = model_inputs(batch)
        logits, updates = state.apply_fn(
            {"params": params, "batch_stats": stats}, *args, train=True,
            rngs={"dropout": rng}, mutable=["batch_stats"], **extra,
        )
        loss, correct, w = cross_entropy(logits, batch)
        # LayerNorm models have no batch statistics: the collection is then empty.
        return jnp.sum(loss * w) / total, (updates.get("batch_stats", {}), jnp.sum(correct * w))

    (loss, (stats, correct)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    return loss, grads, stats, correct


def train_step(state: TrainState, batch: dict, rng: jax.Array,
               accum: int = 1) -> tuple[TrainState, dict]:
    """One AdamW step on a batch. Returns the new state and summed metrics of the batch.

    accum > 1 splits the batch into that many micro-batches, run one after another (lax.scan)
    and their gradients summed: the gradient of the whole batch, in 1/accum of the activation
    memory. (BatchNorm's statistics are then those of each micro-batch, as in PyTorch.)

    A step whose loss or any gradient is not finite changes nothing (the state stays the last
    finite one) and is counted in `bad_steps`, with the step and which gradients, so the trainer
    can stop and name them.
    """
    n = jnp.sum(batch["weights"])
    if accum == 1:
        loss, grads, stats, correct = _grads(state, state.batch_stats, batch, rng, n)
    else:
        micro = jax.tree.map(lambda x: x.reshape(accum, x.shape[0] // accum, *x.shape[1:]), batch)

        def body(carry, xs):
            g_sum, stats, loss_sum, correct_sum = carry
            part, i = xs
            loss, g, stats, correct = _grads(state, stats, part, jax.random.fold_in(rng, i), n)
            return (jax.tree.map(jnp.add, g_sum, g), stats, loss_sum + loss,
                    correct_sum + correct), None

        zeros = jax.tree.map(jnp.zeros_like, state.params)
        start = (zeros, state.batch_stats, jnp.zeros(()), jnp.zeros(()))
        (grads, stats, loss, correct), _ = jax.lax.scan(body, start, (micro, jnp.arange(accum)))
    grad_ok = jnp.stack([jnp.all(jnp.isfinite(g)) for g in jax.tree.leaves(grads)])
    ok = jnp.isfinite(loss) & jnp.all(grad_ok)
    new = state.apply_gradients(grads=grads, batch_stats=stats)
    state = jax.tree.map(lambda a, b: jnp.where(ok, a, b), new, state)
    bad = jnp.logical_not(ok)
    return state, {
        "loss_sum": loss * n, "correct": correct, "count": n,
        "bad_steps": bad.astype(jnp.float32),
        "first_bad": jnp.where(bad, state.step, jnp.iinfo(jnp.int32).max),  # 0-based step
        "bad_grads": jnp.logical_not(grad_ok).astype(jnp.float32),
    }


def eval_step(state: TrainState, batch: dict) -> dict:
    """Sums of loss and correct predictions over the batch's real examples (weights)."""
    args, extra = model_inputs(batch)
    logits = state.apply_fn(
        {"params": state.params, "batch_stats": state.batch_stats}, *args, train=False, **extra
    )
    loss, correct, w = cross_entropy(logits, batch)
    return {"loss_sum": jnp.sum(loss * w), "correct": jnp.sum(correct * w), "count": jnp.sum(w)}


def evaluate(eval_fn, state: TrainState, split: Split, cfg: Config, length: int,
             dp: DataParallel | None = None) -> dict:
    totals = zero_sums()
    for batch in batches(
        split, cfg.train.eval_batch_size, max_length=length, min_bucket=cfg.train.min_bucket,
        part=dp.local_part() if dp else (0, 1),
    ):
        totals = add_sums(totals, eval_fn(state, dp.put(batch) if dp else batch))
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


# The records of a run that has ended: finished, or stopped by a non-finite loss.
ENDED = {"result.json": "a finished run", "failure.json": "a failed run"}


def _check_workdir(cfg: Config, workdir: Path, ckpt: Checkpoints) -> bool:
    """True if workdir holds this run's checkpoint (resume); raises if it holds anything else."""
    for name, what in ENDED.items():
        if (workdir / name).exists():
            raise TrainingError(f"{workdir} holds {what} ({name}); nothing was changed. "
                                "Pass a new --workdir, or delete that folder to start over.")
    if ckpt.latest_step() is not None:
        saved = json.loads((workdir / "config.json").read_text())
        saved.pop("data_dir", None)
        current = json.loads(json.dumps(to_dict(cfg)))  # tuples as lists, as saved
        if saved != current:
            diff = sorted(k for k in saved.keys() | current.keys()
                          if saved.get(k) != current.get(k))
            raise TrainingError(f"{workdir} holds a checkpoint of a run with another config "
                                f"(differs in {', '.join(diff)}); resume it with its own config, "
                                "or pass a new --workdir.")
        return True
    if (workdir / "metrics.jsonl").exists():
        raise TrainingError(f"{workdir} holds a run without a checkpoint to resume from "
                            "(metrics.jsonl); nothing was changed. Pass a new --workdir, or "
                            "delete that folder to start over.")
    return False


def train_and_evaluate(
    cfg: Config, workdir: str | Path, data_dir: str | Path, *, log=print, resume: bool = False
) -> dict[str, Any]:
    """Trains cfg on the task's data and writes config.json, metrics.jsonl and result.json.

    A workdir holding this run's checkpoint resumes it; the result is the uninterrupted run's.
    resume=True insists on that (an error if there is no checkpoint to resume from).
    """
    t_session = time.time()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    ckpt = Checkpoints(workdir)
    try:
        resuming = _check_workdir(cfg, workdir, ckpt)
    except TrainingError:
        ckpt.close()
        raise
    if resume and not resuming:
        ckpt.close()
        raise TrainingError(f"--resume: {workdir} holds no checkpoint to resume from; leave out "
                            "--resume to start the run there.")
    data = load_task(cfg, str(data_dir))
    spec = data.spec
    length = max_length(cfg, spec)
    train_split = data.splits["train"]
    bs = cfg.train.batch_size
    if cfg.train.grad_accum < 1 or bs % cfg.train.grad_accum:
        raise ConfigError(f"train.grad_accum={cfg.train.grad_accum} must be >= 1 and divide "
                          f"train.batch_size={bs}")
    dp = DataParallel()
    dp.check("train.batch_size / train.grad_accum", bs // cfg.train.grad_accum)
    dp.check("train.eval_batch_size", cfg.train.eval_batch_size)
    main_process = jax.process_index() == 0  # the one that writes the run records
    steps_per_epoch = num_batches(len(train_split), bs, drop_last=True)
    if steps_per_epoch == 0:
        raise ConfigError(
            f"train.batch_size={bs} exceeds the {len(train_split)} training examples"
        )
    total_steps = cfg.optim.total_steps or cfg.train.epochs * steps_per_epoch
    provenance = records.provenance()

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
    progress = Progress()
    if resuming:
        state, progress = ckpt.restore(dp.state(state, cfg.train.shard_params))
        if main_process:
            records.truncate_metrics(workdir / "metrics.jsonl", step=progress.step,
                                     epochs_done=len(progress.history))
        log(f"resuming {workdir} from its checkpoint at step {progress.step} "
            f"(epoch {progress.epoch})")
    elif main_process:
        records.write_json(workdir / "config.json", {**to_dict(cfg), "data_dir": str(data_dir)})
        records.write_json(workdir / "param_groups.json", group_table(state.params, labels))
    state = dp.state(state, cfg.train.shard_params)
    state_sharding = jax.tree.map(lambda x: x.sharding, state)
    log(
        f"{cfg.task}/{cfg.variant}: {model_name(cfg)}, {num_params:,} parameters, "
        f"{len(train_split):,} train examples, {steps_per_epoch} steps/epoch, "
        f"{cfg.train.epochs} epochs, data: {data.source['kind']} ({data.source['path']})"
    )

    train_fn = jax.jit(functools.partial(train_step, accum=cfg.train.grad_accum),
                       donate_argnums=0, out_shardings=(state_sharding, dp.replicated))
    eval_fn = jax.jit(eval_step, out_shardings=dp.replicated)
    metrics = records.MetricsLog(workdir / "metrics.jsonl" if main_process else None)
    window = {**zero_sums(), **progress.window}
    step = resumed_from = progress.step
    time_offset = progress.seconds  # wall time of the run's earlier sessions
    every = cfg.train.checkpoint_every

    def now() -> float:
        return time_offset + time.time() - t_session

    header = {  # what result.json and failure.json both say about the run
        "task": cfg.task,
        "variant": cfg.variant,
        "model": model_name(cfg),
        "seed": cfg.seed,
        "config_changes": changes(cfg),
        "epochs_planned": cfg.train.epochs,
        "num_params": num_params,
        "majority_baseline_test": majority_baseline(data),
        "data": data.source,
        "provenance": provenance,
    }

    def save(epoch: int, *, best: bool = False) -> None:
        check_finite(window, state.params, step)
        progress.epoch, progress.step, progress.seconds = epoch, step, now()
        progress.window = {k: float(window[k]) for k in zero_sums()}
        ckpt.save(state, progress, best=best)

    try:
        with StopSignals() as stop:
            for epoch in range(progress.epoch, cfg.train.epochs + 1):
                t_epoch = time.time()
                done = step - (epoch - 1) * steps_per_epoch  # batches of this epoch already run
                bar = tqdm(
                    batches(train_split, bs, max_length=length, min_bucket=cfg.train.min_bucket,
                            shuffle_seed=[cfg.seed, epoch], drop_last=True, skip=done,
                            part=dp.local_part()),
                    initial=done, total=steps_per_epoch, desc=f"epoch {epoch}/{cfg.train.epochs}",
                    leave=False, file=sys.stderr, disable=None,
                )
                t_window, steps_in_window = time.time(), 0
                for batch in bar:
                    state, out = train_fn(state, dp.put(batch),
                                          jax.random.fold_in(dropout_key, step))
                    window = add_sums(window, out)
                    step += 1
                    steps_in_window += 1
                    if step % cfg.train.log_every == 0 or step == epoch * steps_per_epoch:
                        w = jax.device_get(window)
                        check_finite(w, state.params, step)
                        loss = float(w["loss_sum"] / w["count"])
                        acc = float(w["correct"] / w["count"])
                        seconds = time.time() - t_window
                        metrics.write(
                            split="train", epoch=epoch, step=step, loss=loss, accuracy=acc,
                            lr=float(schedules["default"](step - 1)), time=now(),
                            step_time_s=seconds / steps_in_window,
                            examples_per_s=steps_in_window * bs / seconds,
                        )
                        progress.last_train_loss = loss
                        left = (cfg.train.epochs * steps_per_epoch - step) * seconds \
                            / steps_in_window
                        bar.set_postfix(loss=f"{loss:.3f}", acc=f"{acc:.3f}",
                                        run_left=_duration(left))
                        window, t_window, steps_in_window = zero_sums(), time.time(), 0
                    if stop.signum is not None:
                        progress.train_seconds += time.time() - t_epoch
                        save(epoch)
                        raise Interrupted(stop.signum, step, workdir)
                    if every and step % every == 0 and step < epoch * steps_per_epoch:
                        save(epoch)  # (the epoch's end saves after evaluating)
                bar.close()
                progress.train_seconds += time.time() - t_epoch
                row = {"epoch": epoch, "step": step, "train_loss": progress.last_train_loss}
                for split in ("val", "test"):
                    ev = evaluate(eval_fn, state, data.splits[split], cfg, length, dp)
                    metrics.write(split=split, epoch=epoch, step=step, **ev, time=now())
                    row[f"{split}_accuracy"] = ev["accuracy"]
                row["time"] = now()
                progress.history.append(row)
                improved = row["val_accuracy"] > progress.best["val_accuracy"]
                if improved:
                    progress.best = {"epoch": epoch, "val_accuracy": row["val_accuracy"],
                                     "test_accuracy": row["test_accuracy"]}
                save(epoch + 1)
                if improved:
                    save(epoch + 1, best=True)
                best = progress.best
                stuck = stuck_at_chance(cfg, spec, progress.history)
                log(
                    f"epoch {epoch}/{cfg.train.epochs}: val {row['val_accuracy']:.4f} "
                    f"test {row['test_accuracy']:.4f} (best val {best['val_accuracy']:.4f} "
                    f"@ epoch {best['epoch']}) [{time.time() - t_epoch:.1f}s]"
                    + (f"; WARNING: train loss {row['train_loss']:.4f} is still ln 2 ± 0.01 "
                       f"after {epoch} epochs: stuck at chance (see README, Path-X)"
                       if stuck else "")
                )
                if stop.signum is not None:
                    raise Interrupted(stop.signum, step, workdir)
    except TrainingError as e:
        # A run that diverged is a result too (an ablation that blows up is a finding): record
        # it, so a sweep goes on and the tables show it as failed rather than leave it out.
        if main_process:
            records.write_json(workdir / "failure.json", {
                **header, "status": "failed", "error": str(e), "steps": step,
                "epochs_completed": len(progress.history), "history": progress.history,
                "wall_time_s": now(),
            })
        raise
    finally:
        metrics.close()
        ckpt.close()

    history, best = progress.history, progress.best
    result = {
        **header,
        "status": "completed",
        "epochs_completed": len(history),
        "steps": step,
        "best_epoch": best["epoch"],
        "val_accuracy": best["val_accuracy"],
        "test_accuracy": best["test_accuracy"],
        "test_accuracy_last_epoch": history[-1]["test_accuracy"],
        "selection": "test accuracy at the epoch of best validation accuracy",
        "stuck_at_chance": stuck_at_chance(cfg, spec, history),
        "train_loss_by_epoch": [row["train_loss"] for row in history],
        "train_examples_per_second": len(history) * steps_per_epoch * bs
        / progress.train_seconds,
        "wall_time_s": now(),
        "resumed_from_step": resumed_from if resuming else None,
    }
    if main_process:
        records.write_json(workdir / "result.json", result)
    log(
        f"test accuracy {result['test_accuracy']:.4f} at best val epoch {result['best_epoch']} "
        f"(majority class {result['majority_baseline_test']:.4f}); records in {workdir}"
    )
    return result


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else \
        f"{seconds // 60}m{seconds % 60:02d}s"
