"""Checkpoints: save and restore the state and progress exactly; look without writing."""

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lra import checkpoint
from lra.checkpoint import Checkpoints, Progress
from lra.steps import TrainState


def state(seed: int) -> TrainState:
    key = jax.random.key(seed)
    params = {"dense": {"kernel": jax.random.normal(key, (3, 4)), "bias": jnp.zeros(4)}}
    tx = optax.adamw(1e-3)
    s = TrainState.create(apply_fn=None, params=params, tx=tx,
                          batch_stats={"norm": {"mean": jnp.arange(4.0)}})
    grads = jax.tree.map(jnp.ones_like, params)
    return s.apply_gradients(grads=grads)  # a non-trivial optimiser state


def assert_same(a: TrainState, b: TrainState) -> None:
    assert int(a.step) == int(b.step)
    for x, y in ((a.params, b.params), (a.opt_state, b.opt_state),
                 (a.batch_stats, b.batch_stats)):
        jax.tree.map(np.testing.assert_array_equal, x, y)


def test_save_then_restore_gives_the_state_and_progress_back(tmp_path):
    saved = state(0)
    progress = Progress(epoch=3, step=17, window={"loss_sum": 1.5, "correct": 2.0, "count": 4.0},
                        best={"epoch": 2, "val_accuracy": 0.5, "test_accuracy": 0.4},
                        history=[{"epoch": 1}, {"epoch": 2}], train_seconds=3.0, seconds=9.0,
                        last_train_loss=0.7)
    with Checkpoints(tmp_path) as ckpt:
        ckpt.save(saved, progress)
        ckpt.save(state(5), dataclasses.replace(progress, step=11), best=True)
    with Checkpoints(tmp_path) as ckpt:  # a new session
        assert ckpt.latest_step() == 17
        got, got_progress = ckpt.restore(state(1))  # into another state's structure
        best, best_progress = ckpt.restore(state(1), best=True)
    assert_same(got, saved)
    assert got_progress == progress
    assert_same(best, state(5)) and best_progress.step == 11


def test_one_checkpoint_of_each_kind_is_kept_and_a_step_redone_replaces_it(tmp_path):
    with Checkpoints(tmp_path) as ckpt:
        for step in (3, 6, 6):
            ckpt.save(state(step), Progress(step=step))
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["6"]
    with Checkpoints(tmp_path) as ckpt:
        got, _ = ckpt.restore(state(0))
    assert_same(got, state(6))  # the second save of step 6, not the first


def test_looking_for_a_checkpoint_writes_nothing(tmp_path):
    assert checkpoint.latest_step(tmp_path / "run") is None
    assert not (tmp_path / "run").exists()
    with Checkpoints(tmp_path / "run") as ckpt:
        ckpt.save(state(0), Progress(step=4))
    assert checkpoint.latest_step(tmp_path / "run") == 4


def test_resume_cuts_the_metrics_back_to_the_checkpoint(tmp_path):
    rows = [{"split": "train", "epoch": 1, "step": s} for s in (2, 4, 6)]
    rows += [{"split": "val", "epoch": 1, "step": 6}, {"split": "train", "epoch": 2, "step": 8}]
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with Checkpoints(tmp_path) as ckpt:
        ckpt.save(state(0), Progress(epoch=1, step=5))  # mid-epoch 1: its val row is not done
        _, progress = ckpt.resume(state(1), metrics)
    assert progress.step == 5
    kept = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert kept == rows[:2]
    with Checkpoints(tmp_path) as ckpt:  # another process: restores, leaves the file alone
        ckpt.resume(state(1), None)
    assert [json.loads(line) for line in metrics.read_text().splitlines()] == rows[:2]

