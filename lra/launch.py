"""Where a sweep's runs go: this process, local processes side by side, or a job array.

Every launcher runs the same `python -m lra train ...` command for each run (`train_argv`), so
what makes a sweep safe to rerun holds everywhere: a finished run is skipped, a stopped one
resumes from its checkpoint, and a run in progress holds its workdir's lock (lra/lock.py).

- local (`--jobs N`): N `train` processes at once on this machine. With GPUs, each gets its own
  through CUDA_VISIBLE_DEVICES (N defaults to the GPU count); on a CPU, each is pinned to its
  share of the cores. Each run's output goes to `<workdir>.log`. SIGTERM or Ctrl-C to the sweep
  reaches every run, which saves; the same command resumes them.
- slurm: one submitit job array per sweep (`pip install 'lra-s4d[slurm]'`), one array task per
  run, each starting the `train` command as a child process. SLURM's warning signal before the
  time limit or a preemption (USR2, `--signal=USR2@90` in the script submitit writes) reaches
  the task: it passes SIGTERM to `train`, which saves, and the task requeues itself; the
  requeued task's `train` resumes from the checkpoint. A preemption that sends only SIGTERM
  reaches `train` directly, which saves; the script's `--requeue` lets SLURM queue it again.
- submitit-local: the slurm launcher's code path through submitit's LocalExecutor (each run a
  separate process on this machine): to try a cluster sweep before queueing it.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lra.errors import ConfigError
from lra.status import run_state

LAUNCHERS = ("serial", "local", "slurm", "submitit-local")
CORES_VARIABLE = "LRA_CPU_CORES"  # a local sweep's run: the cores it may use


def train_argv(run, *, task: str, variant: str, data_dir: str | Path, model: str | None,
               overrides: list[str]) -> list[str]:
    """The `python -m lra train` arguments of one planned run (lra/sweep.py `Run`), with the
    overrides in the order the sweep applies them: --set ones, the grid point's, the seed."""
    argv = ["train", "--task", task, "--config", variant, "--data-dir", str(data_dir),
            "--workdir", str(run.workdir), "--seed", str(run.seed)]
    if model:
        argv += ["--model", model]
    for item in [*overrides, *run.overrides]:
        argv += ["--set", item]
    return argv


def visible_gpus() -> list[str]:
    """The GPUs this process may use: CUDA_VISIBLE_DEVICES if set, else what nvidia-smi lists."""
    if (env := os.environ.get("CUDA_VISIBLE_DEVICES")) is not None:
        return [d for d in env.split(",") if d.strip() and d.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    return [str(i) for i, line in enumerate(out.stdout.splitlines()) if line.startswith("GPU ")]


def slots(jobs: int | None) -> list[dict[str, Any]]:
    """One {'env': ..., 'cores': ...} per concurrent run: its GPUs, or its share of the cores."""
    gpus = visible_gpus()
    jobs = jobs or len(gpus) or 1
    if jobs < 1:
        raise ConfigError(f"--jobs {jobs}: give at least 1")
    if gpus:
        if jobs > len(gpus):
            raise ConfigError(f"--jobs {jobs}: this machine shows {len(gpus)} GPU(s) "
                              f"({','.join(gpus)}); run at most one run per GPU")
        share = len(gpus) // jobs
        return [{"env": {"CUDA_VISIBLE_DEVICES": ",".join(gpus[i * share:(i + 1) * share])},
                 "cores": None} for i in range(jobs)]
    cores = sorted(os.sched_getaffinity(0))
    return [{"env": {}, "cores": set(cores[i::jobs] or cores)} for i in range(jobs)]


def run_local(commands: list[tuple[Path, list[str]]], jobs: int | None, log=print) -> int | None:
    """Runs the `train` commands, `jobs` at a time (slots()). Returns the signal that stopped
    the sweep (every running run was passed it and saved), or None."""
    free, queue, running, told = slots(jobs), list(commands), {}, set()
    stop: list[int] = []
    old = {s: signal.signal(s, lambda signum, _: stop.append(signum))
           for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        while running or (queue and not stop):
            while free and queue and not stop:
                workdir, argv = queue.pop(0)
                slot = free.pop(0)
                running[_start(workdir, argv, slot)] = (workdir, slot)
                log(f"started: {workdir} ({_where(slot)}; output in {workdir}.log)")
            for proc in running.keys() - told if stop else ():
                proc.send_signal(signal.SIGTERM)  # each run saves; its rerun resumes it
                told.add(proc)
            for proc in [p for p in running if p.poll() is not None]:
                workdir, slot = running.pop(proc)
                free.append(slot)
                log(f"ended (exit {proc.returncode}): {workdir}")
            time.sleep(0.2)
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    return stop[0] if stop else None


def _where(slot: dict) -> str:
    if slot["cores"] is None:
        return f"GPU {slot['env']['CUDA_VISIBLE_DEVICES']}"
    return f"cores {','.join(map(str, sorted(slot['cores'])))}"


def _start(workdir: Path, argv: list[str], slot: dict) -> subprocess.Popen:
    """One `train` process in its slot, output appended to <workdir>.log. Its cores go through
    CORES_VARIABLE (the command line pins itself before JAX starts a thread), not a preexec_fn,
    which would run Python between fork and exec in a process whose JAX threads may hold
    locks."""
    workdir.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **slot["env"]}
    if slot["cores"]:
        env[CORES_VARIABLE] = ",".join(map(str, sorted(slot["cores"])))
    with open(f"{workdir}.log", "a") as out:
        return subprocess.Popen([sys.executable, "-m", "lra", *argv], stdout=out,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)


def pin_cores() -> None:
    """Pins this process to the cores in CORES_VARIABLE, if set (a local sweep's run)."""
    if cores := os.environ.get(CORES_VARIABLE):
        os.sched_setaffinity(0, {int(c) for c in cores.split(",")})


@dataclasses.dataclass
class Cluster:
    """Options of the slurm launcher (`python -m lra sweep --help` documents each)."""

    partition: str | None = None
    gpus_per_task: int = 1
    time_min: int = 2880
    parallel: int | None = None  # array tasks running at once (None: SLURM's limit)
    cpus_per_task: int | None = None
    mem: str | None = None
    setup: tuple[str, ...] = ()  # shell lines run before each task, e.g. activating the venv
    options: tuple[str, ...] = ()  # extra #SBATCH options as KEY=VALUE

    def parameters(self) -> dict[str, Any]:
        # --requeue: a preemption that sends only SIGTERM (PreemptMode=REQUEUE) puts the task
        # back in the queue too; `train` saves on that SIGTERM and the requeued task resumes.
        extra: dict[str, Any] = {"requeue": True}
        for item in self.options:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise ConfigError(f"--slurm-opt {item!r}: expected KEY=VALUE, e.g. account=lab")
            extra[key.removeprefix("--")] = value
        params = {"partition": self.partition, "gpus_per_node": self.gpus_per_task or None,
                  "ntasks_per_node": 1, "time": self.time_min, "cpus_per_task": self.cpus_per_task,
                  "mem": self.mem, "setup": list(self.setup), "additional_parameters": extra,
                  "job_name": "lra-sweep"}
        if self.parallel:
            params["array_parallelism"] = self.parallel
        return {k: v for k, v in params.items() if v is not None}


class TrainJob:
    """What one array task runs: the run's `train` command, as a child process.

    submitit calls `checkpoint` when the task gets SLURM's warning signal (USR2, before the time
    limit or on preemption): `train` is given SIGTERM, saves at its next step, and the task is
    requeued with the same command, which resumes it.
    """

    GRACE_S = 80  # SLURM's warning comes 90 s before the end (submitit's signal_delay_s)

    def __init__(self, argv: list[str], workdir: str | Path):
        self.argv, self.workdir = list(argv), str(workdir)
        self._proc: subprocess.Popen | None = None

    def __getstate__(self):
        return {"argv": self.argv, "workdir": self.workdir}  # not the process

    def __setstate__(self, state):
        self.__dict__.update(state, _proc=None)

    def __call__(self) -> str:
        self._proc = subprocess.Popen([sys.executable, "-m", "lra", *self.argv])
        while self._proc.poll() is None:  # polled, not waited: checkpoint() may run meanwhile
            time.sleep(0.5)
        state = run_state(Path(self.workdir))
        if self._proc.returncode != 0 and state in ("not started", "running"):
            raise RuntimeError(f"train exited with code {self._proc.returncode} before "
                               f"training {self.workdir} (state: {state}); see this task's log")
        return state

    def checkpoint(self, *args, **kwargs):
        import submitit

        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            deadline = time.time() + self.GRACE_S
            while time.time() < deadline and os.waitpid(proc.pid, os.WNOHANG) == (0, 0):
                time.sleep(0.2)  # (waitpid, not Popen.wait: this runs in a signal handler)
        return submitit.helpers.DelayedSubmission(TrainJob(self.argv, self.workdir))


def executor(launcher: str, folder: Path, cluster: Cluster):
    """submitit's executor for the slurm or submitit-local launcher."""
    try:
        import submitit
    except ImportError:
        raise ConfigError(f"--launcher {launcher} needs submitit: pip install "
                          "'lra-s4d[slurm]'") from None
    if launcher == "submitit-local":
        ex = submitit.LocalExecutor(folder=str(folder))
        ex.update_parameters(timeout_min=cluster.time_min)
        return ex
    try:
        ex = submitit.SlurmExecutor(folder=str(folder))
    except RuntimeError as e:  # no srun: not on a SLURM cluster
        raise ConfigError(f"--launcher slurm: {e} (try --launcher local)") from None
    ex.update_parameters(**cluster.parameters())
    return ex


def submit(commands: list[tuple[Path, list[str]]], launcher: str, folder: Path,
           cluster: Cluster) -> list:
    """One job array of TrainJobs, one task per command; returns submitit's jobs."""
    ex = executor(launcher, folder, cluster)
    with ex.batch():
        jobs = [ex.submit(TrainJob(argv, workdir)) for workdir, argv in commands]
    return jobs
