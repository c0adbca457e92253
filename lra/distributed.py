"""Devices and hosts, with JAX's own engine: one Mesh over every device, the batch split on its
`data` axis, the train state replicated. XLA's SPMD partitioner inserts the gradient all-reduce
(and BatchNorm's cross-device statistics), so N devices compute the one-device step. The steps
are traced under the mesh (`traced`), so that what XLA cannot split over the batch itself, the
S4D layer's FFTs (models/s4d.py per_device), runs on each device's own rows.

Several processes (hosts) join through jax.distributed.initialize:
- LRA_COORDINATOR=host:port LRA_NUM_PROCESSES=N LRA_PROCESS_ID=i   explicit, any cluster;
- under SLURM (srun, more than one task), on a multi-host TPU slice, or wherever
  LRA_DISTRIBUTED=1 is set, JAX finds the coordinator in the cluster's environment itself.
Each process then reads only its share of every global batch (`local_part`).
"""

from __future__ import annotations

import functools
import os

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from lra.errors import ConfigError
from models.s4d import BATCH


def initialize() -> bool:
    """Joins the other processes of a multi-process run; False when running alone."""
    if os.environ.get("LRA_COORDINATOR"):
        try:
            jax.distributed.initialize(
                coordinator_address=os.environ["LRA_COORDINATOR"],
                num_processes=int(os.environ["LRA_NUM_PROCESSES"]),
                process_id=int(os.environ["LRA_PROCESS_ID"]),
            )
        except KeyError as e:
            raise ConfigError(f"LRA_COORDINATOR is set but {e.args[0]} is not; set "
                              "LRA_NUM_PROCESSES and LRA_PROCESS_ID too") from None
        return True
    if (os.environ.get("LRA_DISTRIBUTED") == "1" or int(os.environ.get("SLURM_NTASKS", "1")) > 1
            or "," in os.environ.get("TPU_WORKER_HOSTNAMES", "")):
        jax.distributed.initialize()  # SLURM / TPU pod: JAX reads the cluster's environment
        return True
    return False


def from_process_0(value: int) -> int:
    """Process 0's `value` on every process (alone: `value`), so that a choice each process
    made on its own (a measured one may differ) is the same everywhere."""
    if jax.process_count() == 1:
        return value
    from jax.experimental import multihost_utils

    return int(multihost_utils.broadcast_one_to_all(np.int32(value)))


class DataParallel:
    """The mesh, and placing a run's state and batches on it."""

    def __init__(self, devices=None):
        devices = np.array(devices if devices is not None else jax.devices())
        self.mesh = Mesh(devices, (BATCH,))
        self.n_devices = devices.size
        self.batch = NamedSharding(self.mesh, PartitionSpec(BATCH))
        self.replicated = NamedSharding(self.mesh, PartitionSpec())
        self.process, self.n_processes = jax.process_index(), jax.process_count()

    def check(self, name: str, size: int) -> None:
        """A global batch must split evenly over the devices."""
        if size % self.n_devices:
            raise ConfigError(f"{name}={size} does not divide across {self.n_devices} devices; "
                              f"use a multiple of {self.n_devices}")

    def local_part(self) -> tuple[int, int]:
        """(this process, processes): which share of each global batch this host reads."""
        return self.process, self.n_processes

    def state(self, state, shard: bool = False):
        """Places the train state: replicated, or with shard=True each array split on its
        largest axis that divides by the device count (parameters and optimiser moments; FSDP
        style: each device holds 1/N, XLA gathers them where a step needs them)."""
        if not shard:
            return jax.device_put(state, self.replicated)
        return jax.tree.map(lambda x: jax.device_put(x, self.sharding_of(x, shard)), state)

    def sharding_of(self, x, shard: bool = False) -> NamedSharding:
        """Where `state` puts the array x: replicated, or with shard=True split on its largest
        axis that divides by the device count."""
        if not shard:
            return self.replicated
        shape = getattr(x, "shape", ())
        axes = [a for a in sorted(range(len(shape)), key=lambda a: -shape[a])
                if shape[a] % self.n_devices == 0 and shape[a] >= self.n_devices]
        if not axes or self.n_devices == 1:
            return self.replicated
        spec = [None] * len(shape)
        spec[axes[0]] = BATCH
        return NamedSharding(self.mesh, PartitionSpec(*spec))

    def traced(self, fn):
        """fn, traced under this mesh (jax.sharding.use_abstract_mesh): what the model splits
        over the batch by itself sees the devices it is split over (module docstring)."""
        @functools.wraps(fn)
        def under_mesh(*args, **kwargs):
            with jax.sharding.use_abstract_mesh(self.mesh.abstract_mesh):
                return fn(*args, **kwargs)

        return under_mesh

    def put(self, batch: dict) -> dict:
        """This process's rows of a global batch (B/processes, ...) -> global sharded arrays."""
        if self.n_processes == 1:
            return jax.device_put(batch, self.batch)
        return {k: jax.make_array_from_process_local_data(self.batch, v) for k, v in batch.items()}
