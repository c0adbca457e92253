"""Everything a run needs before its first step, checked: `prepare()` returns a `Run`.

prepare() makes every check that can fail (config values, devices, the workdir, the data, the
model) before anything is written, so a bad run leaves no trace: no workdir, no checkpoint
folder, no half-written record. In this order, cheapest first:
  1. the batch against grad_accum and the device count;
  2. the workdir: a finished or failed run there, or another run's checkpoint or metrics, is
     refused; this run's checkpoint means resume;
  3. the task's data (read, checked and cached by its adapter, tasks/);
  4. model.conv=auto's choice, timed on the device (lra/choose.py); the model, its parameters
     and the optimiser;
  5. model.remat=auto's choice and the steps' memory against the device's (lra/fit.py), from
     the steps compiled at the longest length; the jitted steps.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lra import checkpoint, choose, fit, records, timing, xla
from lra.build import create_model, max_length, model_name
from lra.configs import changes, reference
from lra.configs.common import CHOSEN_KEYS, Config, defining, task_adapter, to_dict
from lra.distributed import DataParallel
from lra.errors import ConfigError, TrainingError
from lra.faults import sanity_points
from lra.optim import make_optimizer
from lra.steps import TrainState, eval_step, model_inputs, train_step
from tasks.base import TaskData, TaskSpec, batches, num_batches

# The records of a run that has ended: finished, or stopped by a non-finite loss.
ENDED = {"result.json": "a finished run", "failure.json": "a failed run"}


@dataclasses.dataclass
class Run:
    """A checked run, ready to train: what the loop reads and never changes."""

    cfg: Config
    workdir: Path
    data_dir: str
    data: TaskData
    length: int  # the sequence limit (max_length(cfg, spec))
    dp: DataParallel
    steps_per_epoch: int
    state: TrainState  # freshly initialised, placed on the devices
    labels: Any  # each parameter's optimiser group
    schedules: dict  # {group: lr schedule}
    train_fn: Any  # jitted train_step
    eval_fn: Any  # jitted eval_step
    dropout_key: jax.Array
    resuming: bool  # the workdir holds this run's checkpoint
    main: bool  # the process that writes the run records
    started: float  # time.time() when this session began
    header: dict  # what result.json, failure.json and stopped.json all say about the run
    sanity: tuple = ()  # the healthy val curve's (epoch, accuracy) points (lra/faults.py)

    @property
    def spec(self) -> TaskSpec:
        return self.data.spec

    def train_batches(self, epoch: int, skip: int):
        """This process's share of the epoch's shuffled training batches, from batch `skip`."""
        t = self.cfg.train
        return batches(self.data.splits["train"], t.batch_size, max_length=self.length,
                       min_bucket=t.min_bucket, shuffle_seed=[self.cfg.seed, epoch],
                       drop_last=True, skip=skip, part=self.dp.local_part())


def check_batches(cfg: Config, dp: DataParallel) -> None:
    """The batch must split into micro-batches, and each over the devices."""
    t = cfg.train
    if t.grad_accum < 1 or t.batch_size % t.grad_accum:
        raise ConfigError(f"train.grad_accum={t.grad_accum} must be >= 1 and divide "
                          f"train.batch_size={t.batch_size}")
    dp.check("train.batch_size / train.grad_accum", t.batch_size // t.grad_accum)
    dp.check("train.eval_batch_size", t.eval_batch_size)


def check_workdir(cfg: Config, workdir: Path, *, resume: bool) -> dict | None:
    """The saved config (its config.json) if workdir holds this run's checkpoint (resume), else
    None; raises if it holds anything else.

    Reads only: a workdir that is refused is left exactly as it was."""
    for name, what in ENDED.items():
        if (workdir / name).exists():
            raise TrainingError(f"{workdir} holds {what} ({name}); nothing was changed. "
                                "Pass a new --workdir, or delete that folder to start over.")
    if checkpoint.latest_step(workdir) is not None:
        saved = defining(json.loads((workdir / "config.json").read_text()))
        saved.pop("data_dir", None)
        current = defining(json.loads(json.dumps(to_dict(cfg))))  # tuples as lists, as saved
        for key in CHOSEN_KEYS:  # the run chose these when it started
            section, name = key.split(".")
            if current[section][name] == "auto":
                current[section][name] = saved[section].get(name)
        if saved != current:
            diff = sorted(k for k in saved.keys() | current.keys()
                          if saved.get(k) != current.get(k))
            raise TrainingError(f"{workdir} holds a checkpoint of a run with another config "
                                f"(differs in {', '.join(diff)}); resume it with its own config, "
                                "or pass a new --workdir.")
        return saved
    if (workdir / "metrics.jsonl").exists():
        raise TrainingError(f"{workdir} holds a run without a checkpoint to resume from "
                            "(metrics.jsonl); nothing was changed. Pass a new --workdir, or "
                            "delete that folder to start over.")
    if resume:
        raise TrainingError(f"--resume: {workdir} holds no checkpoint to resume from; leave out "
                            "--resume to start the run there.")
    return None


def load_task(cfg: Config, data_dir: str) -> TaskData:
    """The task's data, read by its adapter with the config's data options."""
    adapter = task_adapter(cfg.task)
    return adapter.load(data_dir, max_length=max_length(cfg, adapter.SPEC), options=cfg.data)


def majority_baseline(data: TaskData) -> float:
    """Test accuracy of always predicting the most common training class."""
    majority = np.bincount(data.splits["train"].targets).argmax()
    return float(np.mean(data.splits["test"].targets == majority))


def init_state(cfg: Config, spec: TaskSpec, example: dict, total_steps: int, key: jax.Array,
               *, jit: bool = False):
    """(train state, parameter groups, lr schedules) of a new run, on the host.

    jit=True compiles the initialisation: faster for a large model, but its random draws are not
    bit for bit the eager ones, so the trainer keeps eager (a run's numbers stay reproducible
    across versions); the dry run and the benchmarks, which only measure, use jit."""
    model = create_model(cfg, spec)
    args, extra = model_inputs(example)
    init = functools.partial(model.init, train=False)
    variables = (jax.jit(init) if jit else init)(key, *args, **extra)
    tx, labels, schedules = make_optimizer(variables["params"], cfg.optim, total_steps)
    state = TrainState.create(apply_fn=model.apply, params=variables["params"], tx=tx,
                              batch_stats=variables.get("batch_stats", {}))
    return state, labels, schedules


def schedule_steps(cfg: Config, steps_per_epoch: int) -> int:
    """The length of the lr schedule: optim.total_steps, else the run's steps."""
    return cfg.optim.total_steps or cfg.train.epochs * steps_per_epoch


def jit_steps(cfg: Config, dp: DataParallel, state: TrainState):
    """(train step, eval step), jitted as the run uses them: the train step donates its state and
    keeps it where `state` is placed; metrics come back replicated; train.xla_flags apply."""
    sharding = jax.tree.map(lambda x: x.sharding, state)
    opts = xla.options(cfg)
    train_fn = jax.jit(functools.partial(dp.traced(train_step), accum=cfg.train.grad_accum),
                       donate_argnums=0, out_shardings=(sharding, dp.replicated),
                       compiler_options=opts)
    return train_fn, jax.jit(dp.traced(eval_step), out_shardings=dp.replicated,
                             compiler_options=opts)


def fit_memory(cfg: Config, spec: TaskSpec, dp: DataParallel, state: TrainState, length: int,
               saved: bool | None):
    """(cfg with model.remat concrete, its choice's record or None, (state, train step, eval
    step) under it): model.remat=auto resolved (both steps compiled, and timed where both fit)
    and, against a hard limit, both steps checked (lra/fit.py). They are compiled at the longest
    length as the run calls them, so the run's first such call finds them compiled."""
    built: dict[tuple, tuple] = {}  # (remat, grad_accum) -> (state, train step, eval step)

    def build(c: Config) -> tuple:
        key = (c.model.remat, c.train.grad_accum)
        if key not in built:
            s = state.replace(apply_fn=create_model(c, spec).apply)
            built[key] = (s, *jit_steps(c, dp, s))
        return built[key]

    mem, t = fit.limit(cfg), cfg.train
    if cfg.model.remat != "auto" and not mem.hard:
        return cfg, None, build(cfg)
    batch = dp.put(fit.local(fit.synthetic_batch(spec, t.batch_size, length), dp))

    def plan_of(c: Config) -> fit.Plan:
        s, train_fn, _ = build(c)
        return fit.planned(train_fn.lower(s, batch, jax.random.key(0)).compile())

    def eval_at(eval_batch: int) -> fit.Plan:
        s, _, eval_fn = build(cfg)
        ev = dp.put(fit.local(fit.synthetic_batch(spec, eval_batch, length, seed=1), dp))
        return fit.planned(eval_fn.lower(s, ev).compile())

    def train_at(accum: int) -> fit.Plan:  # a step that fails the check: not the run's
        return plan_of(dataclasses.replace(cfg, train=dataclasses.replace(t, grad_accum=accum)))

    def time_of(c: Config) -> float:  # on a copy: the step donates the state it is given
        s, train_fn, _ = build(c)
        return timing.timed(train_fn, jax.tree.map(jnp.copy, s), batch, jax.random.key(0),
                            steps=2)[0]

    cfg, choice = fit.resolve(cfg, plan_of, mem, time_of=time_of, saved=saved)
    if mem.hard:
        fit.check(cfg, plan_of(cfg), eval_at(t.eval_batch_size), mem, dp, train_at, eval_at)
    return cfg, choice, build(cfg)


def prepare(cfg: Config, workdir: str | Path, data_dir: str | Path, *,
            resume: bool = False) -> Run:
    """Checks a run and builds what it needs (module docstring); writes nothing."""
    started = time.time()
    workdir, data_dir = Path(workdir), str(data_dir)
    dp = DataParallel()
    check_batches(cfg, dp)
    xla.check(cfg)
    saved = check_workdir(cfg, workdir, resume=resume)  # None: a new run
    data = load_task(cfg, data_dir)
    length, bs = max_length(cfg, data.spec), cfg.train.batch_size
    steps_per_epoch = num_batches(len(data.splits["train"]), bs, drop_last=True)
    if steps_per_epoch == 0:
        raise ConfigError(f"train.batch_size={bs} exceeds the "
                          f"{len(data.splits['train'])} training examples")
    total_steps = schedule_steps(cfg, steps_per_epoch)
    cfg, conv_choice = choose.resolve(cfg, data.spec,
                                      saved=saved["model"]["conv"] if saved else None,
                                      micro_batch=bs // cfg.train.grad_accum // dp.n_devices)
    example = next(batches(data.splits["train"], bs, max_length=length,
                           min_bucket=cfg.train.min_bucket))
    init_key, dropout_key = jax.random.split(jax.random.key(cfg.seed))
    # remat changes how the gradient is computed, not the parameters: any value builds them.
    state, labels, schedules = init_state(fit.with_remat(cfg, cfg.model.remat is True),
                                          data.spec, example, total_steps, init_key)
    state = dp.state(state, cfg.train.shard_params)
    cfg, remat_choice, (state, train_fn, eval_fn) = fit_memory(
        cfg, data.spec, dp, state, length, saved["model"].get("remat") if saved else None)
    header = {
        "task": cfg.task, "variant": cfg.variant, "model": model_name(cfg.model),
        "seed": cfg.seed, "config_changes": changes(cfg), "epochs_planned": cfg.train.epochs,
        "reference": reference(cfg.task, cfg.variant),
        "num_params": int(sum(x.size for x in jax.tree.leaves(state.params))),
        "majority_baseline_test": majority_baseline(data), "data": data.source,
        "provenance": records.provenance(),
        **({"conv_choice": conv_choice} if conv_choice else {}),
        **({"remat_choice": remat_choice} if remat_choice else {}),
    }
    return Run(cfg=cfg, workdir=workdir, data_dir=data_dir, data=data, length=length, dp=dp,
               steps_per_epoch=steps_per_epoch, state=state, labels=labels,
               schedules=schedules, train_fn=train_fn, eval_fn=eval_fn,
               dropout_key=dropout_key, resuming=saved is not None,
               main=jax.process_index() == 0, started=started, header=header,
               sanity=sanity_points(cfg))
