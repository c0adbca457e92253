"""Residual blocks, the S4D backbone, pooling over true lengths and the classification model.

padding='masked' (the default): padding is invisible to the model. Every S4D layer zeroes padded
positions before convolving, BatchNorm takes its statistics over real positions only, and pooling
reads real positions only. So a sequence's logits do not depend on how far its batch was padded,
in training or evaluation.

padding='s4': what state-spaces/s4 v3.0.0 does (docs/fidelity.md). There a batch is padded to its
longest sequence with the <pad> token, the layers get no lengths, so the convolution sees the
padding's embeddings, and BatchNorm1d takes its statistics over every position of the batch;
only pooling uses the true lengths. Here the positions up to the batch's longest sequence are
visible to the layers and BatchNorm in the same way, and those past it (our power-of-two
buckets, which S4 does not have) stay invisible, so the bucket does not change the result.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from models import choices
from models.activations import gelu
from models.s4d import S4D, SSMConfig

NORMS = choices.values(choices.Norm)
POOLS = choices.values(choices.Pool)


class Norm(nn.Module):
    """BatchNorm over (batch, length) at real positions, or LayerNorm over channels.

    Statistics are reduced in float32 whatever x's dtype; the output has x's dtype."""

    kind: str = "batch"

    @nn.compact
    def __call__(self, x: jax.Array, mask: jax.Array, *, train: bool) -> jax.Array:
        """x: (B, L, H); mask: (B, L) bool."""
        if self.kind == "batch":
            # momentum 0.9 here is PyTorch's BatchNorm1d momentum 0.1, as S4 uses.
            return nn.BatchNorm(
                use_running_average=not train, momentum=0.9, epsilon=1e-5, dtype=x.dtype
            )(x, mask=mask[..., None])
        if self.kind == "layer":
            return nn.LayerNorm(epsilon=1e-5, dtype=x.dtype)(x)
        raise ValueError(f"unknown norm {self.kind!r}; choose one of {NORMS}")


class ResidualBlock(nn.Module):
    """x + dropout(S4D(norm(x))) with pre-norm, or norm(x + dropout(S4D(x))) with post-norm."""

    ssm: SSMConfig = SSMConfig()
    dropout: float = 0.0
    norm: str = "batch"
    prenorm: bool = False
    postact: str = "glu"

    @nn.compact
    def __call__(self, x: jax.Array, mask: jax.Array, train: bool) -> jax.Array:
        """x: (B, L, H); mask: (B, L) bool. Returns (B, L, H)."""
        z = Norm(self.norm)(x, mask, train=train) if self.prenorm else x
        z = S4D(self.ssm, self.dropout, self.postact)(z, mask, train=train)
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


def _tie(residuals, cotangent: jax.Array):
    """`residuals` with 0 · (one element of `cotangent`) added to each floating leaf: the same
    values (x + 0·c = x for finite c; a non-finite c makes the step non-finite, as it is
    anyway), but computed only once the cotangent exists."""
    zero = jnp.zeros((), cotangent.dtype) * cotangent[(0,) * cotangent.ndim]
    return jax.tree.map(
        lambda r: r + zero.astype(r.dtype) if jnp.issubdtype(r.dtype, jnp.floating) else r,
        residuals)


def remat_block(train: bool):
    """A block applied as `remat_block(train)(block, x, mask)`: the backward pass keeps only
    the block's input (and its variables) and recomputes the rest, once the block's output
    cotangent has arrived.

    Why not `nn.remat` alone: it keeps the right residuals, but nothing makes XLA wait for the
    backward pass before recomputing, and XLA's scheduler runs the recomputations early, during
    the forward pass, so they are all live at once. Measured on the CPU (XLA's planned temp
    memory, 4 blocks, B=8, L=1024, H=128): 225 MiB without remat, 213 MiB with nn.remat, 70
    MiB with this; each further block adds one (B, L, H) input here, about 12 without
    (tests/models/test_sequence.py). The backward pass below ties the saved residuals to the
    cotangent (`_tie`), so the recomputation cannot start before it is needed.
    """
    def apply(mdl, x, mask):
        return mdl(x, mask, train)

    def forward(mdl, x, mask):  # (output, vjp of the rematted block: its residuals are inputs)
        return nn.vjp(nn.remat(apply), mdl, x, mask)

    def backward(vjp_fn, cotangent):
        return tuple(_tie(vjp_fn, cotangent)(cotangent))

    return nn.custom_vjp(apply, forward_fn=forward, backward_fn=backward)


class Backbone(nn.Module):
    """Encoder -> n_layers residual S4D blocks -> (final norm if pre-norm) -> pool.

    Token inputs (vocab_size set) are embedded; real inputs (B, L, C) go through Linear(C, H).
    Activations and matmuls run in `dtype`; parameters, norm statistics, the SSM kernel and the
    FFT stay float32. `remat` recomputes each block in the backward pass (remat_block): the
    backward pass then keeps one (B, L, H) input per block.
    Returns (B, H) float32 features.
    """

    vocab_size: int | None = None
    d_model: int = 128
    n_layers: int = 4
    ssm: SSMConfig = SSMConfig()
    dropout: float = 0.0
    norm: str = "batch"
    prenorm: bool = False
    pool: str = "mean"
    dtype: jnp.dtype = jnp.float32
    remat: bool = False
    postact: str = "glu"
    padding: str = "masked"

    @nn.compact
    def __call__(self, inputs: jax.Array, lengths: jax.Array, *, train: bool) -> jax.Array:
        """inputs: (B, L) tokens or (B, L, C) floats; lengths: (B,). Returns (B, H)."""
        if self.vocab_size is not None:
            x = nn.Embed(self.vocab_size, self.d_model, dtype=self.dtype, name="encoder")(inputs)
        else:
            x = nn.Dense(self.d_model, dtype=self.dtype, name="encoder")(inputs)
        mask = self.visible(lengths, x.shape[1])
        for i in range(self.n_layers):
            block = ResidualBlock(
                self.ssm, self.dropout, self.norm, self.prenorm, self.postact, name=f"block_{i}"
            )
            x = remat_block(train)(block, x, mask) if self.remat else block(x, mask, train)
        if self.prenorm:
            x = Norm(self.norm, name="final_norm")(x, mask, train=train)
        return pool(x.astype(jnp.float32), lengths, self.pool)


    def visible(self, lengths: jax.Array, L: int) -> jax.Array:
        """(B, L) bool: the positions the layers and norms see (module docstring)."""
        if self.padding == "masked":
            return length_mask(lengths, L)
        if self.padding == "s4":
            return jnp.broadcast_to(jnp.arange(L)[None, :] < jnp.max(lengths), (len(lengths), L))
        raise ValueError(f"unknown padding {self.padding!r}; choose one of "
                         f"{choices.values(choices.Padding)}")


class SequenceClassifier(nn.Module):
    """Backbone features -> a classification head. `backbone` is a Backbone (its parameters
    live under 'backbone').

    With `paired` (Retrieval), both documents go through the same backbone in one batch, are
    pooled to u and v, and the head is MLP([u, v, u-v, u·v]) -> classes: S4's "nli" head,
    credited there to the Nyströmformer LRA code (lra-reference §2.3). Otherwise the head is
    one Linear layer.
    """

    num_classes: int
    backbone: Backbone
    paired: bool = False

    @nn.compact
    def __call__(
        self,
        inputs: jax.Array,
        lengths: jax.Array,
        *,
        train: bool,
        inputs2: jax.Array | None = None,
        lengths2: jax.Array | None = None,
    ) -> jax.Array:
        """inputs: (B, L) or (B, L, C); lengths: (B,); inputs2/lengths2 likewise when paired.

        Returns (B, num_classes) float32 logits.
        """
        backbone = self.backbone
        if not self.paired:
            features = backbone(inputs, lengths, train=train)
            return nn.Dense(self.num_classes, name="decoder")(features)
        if inputs2 is None or lengths2 is None:
            raise ValueError("a paired model needs inputs2 and lengths2")
        L = max(inputs.shape[1], inputs2.shape[1])

        def pad(x):
            return jnp.pad(x, [(0, 0), (0, L - x.shape[1])] + [(0, 0)] * (x.ndim - 2))

        # One batch of 2B documents, as S4 does: BatchNorm sees both sides together.
        both = backbone(jnp.concatenate([pad(inputs), pad(inputs2)]),
                        jnp.concatenate([lengths, lengths2]), train=train)
        u, v = jnp.split(both, 2)
        h = nn.Dense(u.shape[-1], name="head_hidden")(jnp.concatenate([u, v, u - v, u * v], -1))
        return nn.Dense(self.num_classes, name="decoder")(gelu(h))
