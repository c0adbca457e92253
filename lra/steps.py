"""The pure, jitted pieces of training: the train state, one AdamW step, one evaluation step.

Both steps return sums (loss · weight, correct predictions, examples), not means, so batches of
any size and the zero-weight filler of a last partial evaluation batch add up exactly.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax.training import train_state


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


def _accumulated_grads(state: TrainState, batch: dict, rng: jax.Array, total: jax.Array,
                       accum: int):
    """_grads over `accum` micro-batches run one after another (lax.scan), summed."""
    micro = jax.tree.map(lambda x: x.reshape(accum, x.shape[0] // accum, *x.shape[1:]), batch)

    def body(carry, xs):
        g_sum, stats, loss_sum, correct_sum = carry
        part, i = xs
        loss, g, stats, correct = _grads(state, stats, part, jax.random.fold_in(rng, i), total)
        return (jax.tree.map(jnp.add, g_sum, g), stats, loss_sum + loss,
                correct_sum + correct), None

    zeros = jax.tree.map(jnp.zeros_like, state.params)
    start = (zeros, state.batch_stats, jnp.zeros(()), jnp.zeros(()))
    (grads, stats, loss, correct), _ = jax.lax.scan(body, start, (micro, jnp.arange(accum)))
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
        loss, grads, stats, correct = _accumulated_grads(state, batch, rng, n, accum)
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


def predict_step(state: TrainState, batch: dict) -> jax.Array:
    """Class probabilities of every row of the batch, (B, C) (filler rows included)."""
    args, extra = model_inputs(batch)
    logits = state.apply_fn(
        {"params": state.params, "batch_stats": state.batch_stats}, *args, train=False, **extra
    )
    return jax.nn.softmax(logits.astype(jnp.float32), axis=-1)
