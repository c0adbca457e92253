"""Residual blocks, the S4D backbone, pooling over true lengths and the classification model.

Padding is invisible to the model: every S4D layer zeroes padded positions before convolving,
BatchNorm takes its statistics over real positions only, and pooling reads real positions only.
So a sequence's logits do not depend on how far its batch was padded, in training or evaluation.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from models.s4d import S4D

NORMS = ("batch", "layer")
POOLS = ("mean", "last")


class Norm(nn.Module):
    """BatchNorm over (batch, length) at real positions, or LayerNorm over channels."""

    kind: str = "batch"

    @nn.compact
    def __call__(self, x: jax.Array, mask: jax.Array, *, train: bool) -> jax.Array:
        """x: (B, L, H); mask: (B, L) bool."""
        if self.kind == "batch":
            # momentum 0.9 here is PyTorch's BatchNorm1d momentum 0.1, as S4 uses.
            return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)(
                x, mask=mask[..., None]
            )
        if self.kind == "layer":
            return nn.LayerNorm(epsilon=1e-5)(x)
        raise ValueError(f"unknown norm {self.kind!r}; choose one of {NORMS}")


class ResidualBlock(nn.Module):
    """x + dropout(S4D(norm(x))) with pre-norm, or norm(x + dropout(S4D(x))) with post-norm."""

    d_state: int = 64
    a_init: str = "inv"
    dt_min: float = 1e-3
    dt_max: float = 1e-1
    bidirectional: bool = True
    dropout: float = 0.0
    norm: str = "batch"
    prenorm: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, mask: jax.Array, *, train: bool) -> jax.Array:
        """x: (B, L, H); mask: (B, L) bool. Returns (B, L, H)."""
        z = Norm(self.norm)(x, mask, train=train) if self.prenorm else x
        z = S4D(
            d_state=self.d_state,
            a_init=self.a_init,
            dt_min=self.dt_min,
            dt_max=self.dt_max,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
        )(z, mask, train=train)
        # One dropout mask for the whole sequence (S4's "tied" dropout, user-needs (b) 12).
        x = x + nn.Dropout(self.dropout, broadcast_dims=(1,))(z, deterministic=not train)
        return x if self.prenorm else Norm(self.norm)(x, mask, train=train)


def length_mask(lengths: jax.Array, L: int) -> jax.Array:
    """(B,) lengths -> (B, L) bool, True at positions < length."""
    return jnp.arange(L)[None, :] < lengths[:, None]


def pool(x: jax.Array, lengths: jax.Array, mode: str) -> jax.Array:
    """Pools (B, L, H) to (B, H) over each sequence's true length.

    'mean' averages the first `length` positions; 'last' takes position length - 1.
    """
    if mode == "mean":
        mask = length_mask(lengths, x.shape[1])[..., None]
        return jnp.sum(jnp.where(mask, x, 0.0), axis=1) / jnp.maximum(lengths, 1)[:, None]
    if mode == "last":
        return jnp.take_along_axis(x, (lengths - 1)[:, None, None], axis=1)[:, 0]
    raise ValueError(f"unknown pooling {mode!r}; choose one of {POOLS}")


class SequenceClassifier(nn.Module):
    """Encoder -> n_layers residual S4D blocks -> (final norm if pre-norm) -> pool -> Linear.

    Token inputs (vocab_size set) are embedded; real inputs (B, L, C) go through Linear(C, H).
    """

    num_classes: int
    vocab_size: int | None = None
    d_model: int = 128
    n_layers: int = 4
    d_state: int = 64
    a_init: str = "inv"
    dt_min: float = 1e-3
    dt_max: float = 1e-1
    bidirectional: bool = True
    dropout: float = 0.0
    norm: str = "batch"
    prenorm: bool = False
    pool: str = "mean"

    @nn.compact
    def __call__(self, inputs: jax.Array, lengths: jax.Array, *, train: bool) -> jax.Array:
        """inputs: (B, L) int tokens or (B, L, C) floats; lengths: (B,). Returns (B, classes)."""
        if self.vocab_size is not None:
            x = nn.Embed(self.vocab_size, self.d_model, name="encoder")(inputs)
        else:
            x = nn.Dense(self.d_model, name="encoder")(inputs)
        mask = length_mask(lengths, x.shape[1])
        for i in range(self.n_layers):
            x = ResidualBlock(
                d_state=self.d_state,
                a_init=self.a_init,
                dt_min=self.dt_min,
                dt_max=self.dt_max,
                bidirectional=self.bidirectional,
                dropout=self.dropout,
                norm=self.norm,
                prenorm=self.prenorm,
                name=f"block_{i}",
            )(x, mask, train=train)
        if self.prenorm:
            x = Norm(self.norm, name="final_norm")(x, mask, train=train)
        return nn.Dense(self.num_classes, name="decoder")(pool(x, lengths, self.pool))
