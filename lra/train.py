"""The one trainer: train_and_evaluate(config, workdir, data_dir) for every task.

Per epoch: train on the shuffled training split (last incomplete batch dropped, as S4), then
evaluate val and test on every example. The reported test accuracy is the one at the epoch of
best validation accuracy (S4's checkpoint rule, lra-reference §2 "Metric and evaluation").

The steps, each a function below: prepare (lra/prepare.py: every check, nothing written), start
(fresh records, or resume from the checkpoint), train_epoch, evaluate_epoch, end_epoch (save,
report), and finish (result.json), record_failure (failure.json) or, stopped by a signal,
record_stop (stopped.json).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import jax
from tqdm import tqdm

from lra import checkpoint, choose, compile_cache, fit, records, tracking
from lra.checkpoint import Checkpoints, Progress
from lra.configs.common import Config, to_dict
from lra.distributed import DataParallel
from lra.errors import Interrupted, TrainingError
from lra.faults import StopSignals, check_finite, sanity_expected, sick, stuck_at_chance
from lra.lock import workdir_lock
from lra.logger import MetricLogger
from lra.optim import group_table
from lra.prepare import Run, prepare
from lra.profile import Profile
from lra.steps import TrainState, add_sums, zero_sums
from lra.units import duration
from tasks.base import Split, batches


def train_and_evaluate(
    cfg: Config, workdir: str | Path, data_dir: str | Path, *, log=print, resume: bool = False
) -> dict[str, Any]:
    """Trains cfg on the task's data and writes config.json, metrics.jsonl and result.json.

    A workdir holding this run's checkpoint resumes it; the result is the uninterrupted run's.
    resume=True insists on that (an error if there is no checkpoint to resume from). The run
    holds the workdir's lock throughout (lra/lock.py): a second run on it is refused.
    """
    compiled_before = compile_cache.counts()  # prepare compiles auto's candidates already
    with workdir_lock(workdir, enabled=jax.process_index() == 0):
        run = prepare(cfg, workdir, data_dir, resume=resume)
        logger = MetricLogger(writers(run, log), batch_size=cfg.train.batch_size,
                              run_steps=cfg.train.epochs * run.steps_per_epoch,
                              started=run.started)
        with Checkpoints(run.workdir) as ckpt, logger, StopSignals() as stop:
            state, progress = start(run, ckpt, logger, log)
            resumed_from = progress.step if run.resuming else None
            try:
                loop(run, state, progress, ckpt, logger, stop, log)
            except TrainingError as e:
                record_failure(run, progress, logger, e)
                raise
            except Interrupted as e:
                record_stop(run, progress, logger, e)
                raise
        return finish(run, progress, logger, log, resumed_from=resumed_from,
                      compiled=compile_cache.since(compiled_before))


def loop(run: Run, state: TrainState, progress: Progress, ckpt: Checkpoints,
         logger: MetricLogger, stop: StopSignals, log) -> None:
    """The epochs: train, evaluate, save and report each; ends early only if the run is sick
    and train.stop_when_stuck is set (progress.stopped_because says why)."""
    profile = Profile(run.cfg.train.profile_steps, run.workdir / "profile", log)
    while progress.epoch <= run.cfg.train.epochs:  # end_epoch moves it on
        t_epoch = time.time()
        state = train_epoch(run, state, progress, ckpt, logger, stop, profile)
        improved = evaluate_epoch(run, state, progress, logger, log)
        end_epoch(run, state, progress, ckpt, logger, improved, log,
                  seconds=time.time() - t_epoch)
        if signum := stop.poll():
            raise Interrupted(signum, progress.step, run.workdir)
        if progress.stopped_because:
            log(f"stopping early (train.stop_when_stuck): {progress.stopped_because}")
            return


def writers(run: Run, log) -> list:
    """Where the metric rows go: metrics.jsonl, and the dashboards the config turns on."""
    if not run.main:
        return []
    t, out = run.cfg.train, [records.MetricsFile(run.workdir / "metrics.jsonl")]
    if t.tensorboard:
        purge = checkpoint.latest_step(run.workdir) if run.resuming else None
        out.append(tracking.TensorBoard(run.workdir, purge_step=purge and purge + 1))
    if project := tracking.wandb_project(t.wandb):
        out.append(tracking.WandB(project, run.workdir, to_dict(run.cfg)))
        log(f"logging to W&B project {project}, run id {tracking.run_id(run.workdir)}")
    return out


def start(run: Run, ckpt: Checkpoints, logger: MetricLogger, log) -> tuple[TrainState, Progress]:
    """A new run's state and first records, or a resumed run's state and progress."""
    if run.resuming:
        metrics = run.workdir / "metrics.jsonl" if run.main else None
        state, progress = ckpt.resume(run.state, metrics)
        logger.resume(progress.seconds, progress.window)
        log(f"resuming {run.workdir} from its checkpoint at step {progress.step} "
            f"(epoch {progress.epoch})")
    else:
        state, progress = run.state, Progress()
        if run.main:
            records.write_json(run.workdir / "config.json",
                               {**to_dict(run.cfg), "data_dir": run.data_dir})
            records.write_json(run.workdir / "param_groups.json",
                               group_table(state.params, run.labels))
    cfg, data = run.cfg, run.data
    if "conv_choice" in run.header:
        log(choose.describe(run.header["conv_choice"]))
    if "remat_choice" in run.header:
        log(fit.describe(run.header["remat_choice"]))
    log(f"{cfg.task}/{cfg.variant}: {run.header['model']}, {run.header['num_params']:,} "
        f"parameters, {len(data.splits['train']):,} train examples, {run.steps_per_epoch} "
        f"steps/epoch, {cfg.train.epochs} epochs, data: {data.source['kind']} "
        f"({data.source['path']})")
    return run.dp.state(state, cfg.train.shard_params), progress


def save(run: Run, ckpt: Checkpoints, state: TrainState, progress: Progress,
         logger: MetricLogger, *, best: bool = False) -> None:
    """Checkpoints the state and where the run is; never a state after a non-finite step."""
    check_finite(logger.window, state.params, progress.step)
    progress.seconds, progress.window = logger.now(), logger.window_sums()
    ckpt.save(state, progress, best=best)


def train_epoch(run: Run, state: TrainState, progress: Progress, ckpt: Checkpoints,
                logger: MetricLogger, stop: StopSignals, profile: Profile) -> TrainState:
    """Trains the rest of epoch progress.epoch: logs every train.log_every steps and at the
    epoch's end, checkpoints every train.checkpoint_every steps, stops on a signal."""
    t, epoch, n = run.cfg.train, progress.epoch, run.steps_per_epoch
    done = progress.step - (epoch - 1) * n  # batches of this epoch already run
    bar = tqdm(run.train_batches(epoch, skip=done), initial=done, total=n,
               desc=f"epoch {epoch}/{t.epochs}", leave=False, file=sys.stderr, disable=None)
    t0 = time.time()
    logger.start_clock()
    for batch in bar:
        rng = jax.random.fold_in(run.dropout_key, progress.step)
        profile.before(progress.step + 1)
        state, out = run.train_fn(state, run.dp.put(batch), rng)
        logger.add(out)
        progress.step += 1
        step = progress.step
        profile.after(step, out)
        if step % t.log_every == 0 or step == epoch * n:
            check_finite(logger.window, state.params, step)
            row = logger.log_train(epoch=epoch, step=step, lrs={
                group: float(schedule(step - 1)) for group, schedule in run.schedules.items()})
            progress.last_train_loss = row["loss"]
            bar.set_postfix(loss=f"{row['loss']:.3f}", acc=f"{row['accuracy']:.3f}",
                            run_left=duration(row["left_s"]))
        if signum := stop.poll():
            progress.train_seconds += time.time() - t0
            save(run, ckpt, state, progress, logger)
            raise Interrupted(signum, step, run.workdir)
        if t.checkpoint_every and step % t.checkpoint_every == 0 and step < epoch * n:
            save(run, ckpt, state, progress, logger)  # (the epoch's end saves after evaluating)
    bar.close()
    profile.stop(state, progress.step)
    progress.train_seconds += time.time() - t0
    return state


def evaluate(eval_fn, state: TrainState, split: Split, cfg: Config, length: int,
             dp: DataParallel | None = None) -> dict:
    """{'loss', 'accuracy', 'count'} over every example of a split."""
    totals = zero_sums()
    for batch in batches(
        split, cfg.train.eval_batch_size, max_length=length, min_bucket=cfg.train.min_bucket,
        part=dp.local_part() if dp else (0, 1),
    ):
        totals = add_sums(totals, eval_fn(state, dp.put(batch) if dp else batch))
    totals = jax.device_get(totals)
    count = float(totals["count"])
    return {"loss": float(totals["loss_sum"]) / count,
            "accuracy": float(totals["correct"]) / count, "count": int(count)}


def evaluate_epoch(run: Run, state: TrainState, progress: Progress, logger: MetricLogger,
                   log) -> bool:
    """Evaluates val and test, appends the epoch to the history; True if val improved. A val
    accuracy below the healthy curve (lra/faults.py) is flagged in the val row and the log."""
    epoch, step = progress.epoch, progress.step
    row = {"epoch": epoch, "step": step, "train_loss": progress.last_train_loss}
    expected = sanity_expected(run.sanity, epoch, 1.0 / run.spec.num_classes)
    for split in ("val", "test"):
        ev = evaluate(run.eval_fn, state, run.data.splits[split], run.cfg, run.length, run.dp)
        if split == "val" and expected is not None:
            ev = {**ev, "behind_sanity": ev["accuracy"] < expected, "sanity_expected": expected}
            if ev["behind_sanity"]:
                progress.behind_sanity.append(epoch)
                log(f"WARNING behind_sanity: epoch {epoch} val accuracy {ev['accuracy']:.4f} is "
                    f"below {expected:.4f}, S4's healthy curve at this epoch (train.sanity)")
        logger.log_eval(split, epoch=epoch, step=step, result=ev)
        row[f"{split}_accuracy"] = ev["accuracy"]
    row["time"] = logger.now()
    progress.history.append(row)
    improved = row["val_accuracy"] > progress.best["val_accuracy"]
    if improved:
        progress.best = {"epoch": epoch, "val_accuracy": row["val_accuracy"],
                         "test_accuracy": row["test_accuracy"]}
    return improved


def end_epoch(run: Run, state: TrainState, progress: Progress, ckpt: Checkpoints,
              logger: MetricLogger, improved: bool, log, *, seconds: float) -> None:
    """Saves the latest (and, if val improved, the best) state and reports the epoch."""
    row, best, epochs = progress.history[-1], progress.best, run.cfg.train.epochs
    progress.epoch += 1
    if run.cfg.train.stop_when_stuck and progress.epoch <= epochs:
        progress.stopped_because = sick(run.cfg, run.spec, progress.history)
    save(run, ckpt, state, progress, logger)
    if improved:
        save(run, ckpt, state, progress, logger, best=True)
    stuck = stuck_at_chance(run.cfg, run.spec, progress.history)
    log(f"epoch {row['epoch']}/{epochs}: val {row['val_accuracy']:.4f} "
        f"test {row['test_accuracy']:.4f} (best val {best['val_accuracy']:.4f} "
        f"@ epoch {best['epoch']}) [{seconds:.1f}s]"
        + (f"; WARNING: train loss {row['train_loss']:.4f} is still ln 2 ± 0.01 after "
           f"{row['epoch']} epochs: stuck at chance (see README, Path-X)" if stuck else ""))


def record_failure(run: Run, progress: Progress, logger: MetricLogger,
                   error: TrainingError) -> None:
    """failure.json: a run that diverged is a result too (an ablation that blows up is a
    finding), so a sweep goes on and the tables show it as failed rather than leave it out."""
    if run.main:
        records.write_json(run.workdir / "failure.json", {
            **run.header, "status": "failed", "error": str(error), "steps": progress.step,
            "epochs_completed": len(progress.history), "history": progress.history,
            "wall_time_s": logger.now(),
        })


def record_stop(run: Run, progress: Progress, logger: MetricLogger, stop: Interrupted) -> None:
    """stopped.json: where a stopped run stands (the tables show it as partial until it is
    resumed and finishes; result.json then takes its place)."""
    if run.main:
        best = progress.best if progress.history else {}
        records.write_json(run.workdir / "stopped.json", {
            **run.header, "status": "stopped", "reason": str(stop), "steps": progress.step,
            "epochs_completed": len(progress.history), "history": progress.history,
            "best_epoch": best.get("epoch"), "val_accuracy": best.get("val_accuracy"),
            "test_accuracy": best.get("test_accuracy"), "wall_time_s": logger.now(),
        })


def finish(run: Run, progress: Progress, logger: MetricLogger, log, *,
           resumed_from: int | None, compiled: dict) -> dict[str, Any]:
    """result.json: the test accuracy at the best validation epoch, and how the run went;
    `compiled`: what XLA's persistent compilation cache did in the run (lra/compile_cache.py)."""
    history, best = progress.history, progress.best
    result = {
        **run.header,
        "status": "stopped_early" if progress.stopped_because else "completed",
        "stopped_because": progress.stopped_because,
        "epochs_completed": len(history),
        "steps": progress.step,
        "best_epoch": best["epoch"],
        "val_accuracy": best["val_accuracy"],
        "test_accuracy": best["test_accuracy"],
        "test_accuracy_last_epoch": history[-1]["test_accuracy"],
        "selection": "test accuracy at the epoch of best validation accuracy",
        "stuck_at_chance": stuck_at_chance(run.cfg, run.spec, history),
        "behind_sanity": bool(progress.behind_sanity),
        "behind_sanity_epochs": progress.behind_sanity,
        "sanity_curve": [list(p) for p in run.sanity],
        "train_loss_by_epoch": [row["train_loss"] for row in history],
        "train_examples_per_second": len(history) * run.steps_per_epoch
        * run.cfg.train.batch_size / progress.train_seconds,
        "wall_time_s": logger.now(),
        "resumed_from_step": resumed_from,
        "compile_cache": compiled if run.header["provenance"]["compile_cache"] else None,
    }
    if run.main:
        records.write_json(run.workdir / "result.json", result)
    if result["compile_cache"]:
        # JAX's count is compile time less read time: a little below 0 for quick programs.
        saved = round(compiled["saved_s"], 1) or 0.0  # and never "-0.0"
        log(f"XLA's compile cache ({run.header['provenance']['compile_cache']}): "
            f"{compiled['hits']} programs read back, saving {saved:.1f} s of compiling; "
            f"{compiled['written']} compiled and kept")
    log(f"test accuracy {result['test_accuracy']:.4f} at best val epoch {result['best_epoch']} "
        f"(majority class {result['majority_baseline_test']:.4f}); records in {run.workdir}")
    return result
