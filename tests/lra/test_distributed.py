"""Data parallelism: 4 (fake) CPU devices train like 1 (also with remat); batches split evenly
over processes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lra import checkpoint
from lra.cli import main
from lra.distributed import DataParallel
from lra.errors import ConfigError
from lra.records import read_metrics
from tasks.base import TokenSplit, batches
from tasks.generators import listops as gen

REPO = Path(__file__).resolve().parents[2]
ARGS = ["train", "--task", "listops", "--config", "smoke", "--set", "train.epochs=1",
        "--set", "train.batch_size=8", "--set", "train.eval_batch_size=40",
        "--set", "train.log_every=2"]


def test_four_devices_train_like_one(tmp_path, capsys):
    gen.generate(tmp_path / "data", train=96, val=40, test=40, min_length=5, max_length=40,
                 max_depth=4, seed=0)
    args = [*ARGS, "--data-dir", str(tmp_path / "data")]
    assert main([*args, "--workdir", str(tmp_path / "one")]) == 0
    flags = os.environ.get("XLA_FLAGS", "")  # the suite's own (tests/conftest.py), and 4 devices
    env = {**os.environ, "XLA_FLAGS": f"{flags} --xla_force_host_platform_device_count=4",
           "JAX_PLATFORMS": "cpu"}
    # Sharded parameters, and recomputed blocks (whose backward pass reads the sharded
    # cotangent, models/sequence.py remat_block), give the same values too.
    runs = {"four": [], "four-sharded-remat": ["--set", "train.shard_params=true",
                                               "--set", "model.remat=true"]}
    script = "import sys; from lra.cli import main; sys.exit(" + " or ".join(
        f"main({[*args, '--workdir', str(tmp_path / name), *extra]!r})"
        for name, extra in runs.items()) + ")"
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    one = json.loads((tmp_path / "one" / "result.json").read_text())
    a = read_metrics(tmp_path / "one" / "metrics.jsonl")
    assert one["provenance"]["device"]["count"] == 1
    for name in runs:
        four = json.loads((tmp_path / name / "result.json").read_text())
        assert four["provenance"]["device"]["count"] == 4
        b = read_metrics(tmp_path / name / "metrics.jsonl")
        assert [(r["split"], r["step"]) for r in a] == [(r["split"], r["step"]) for r in b]
        np.testing.assert_allclose([r["loss"] for r in b], [r["loss"] for r in a], rtol=2e-4)
        np.testing.assert_allclose([r["accuracy"] for r in b], [r["accuracy"] for r in a],
                                   atol=0.051)


def test_a_batch_must_divide_over_the_devices():
    dp = DataParallel()
    dp.n_devices = 4  # as on a 4-device host
    dp.check("train.batch_size", 8)
    with pytest.raises(ConfigError, match="train.batch_size=6 does not divide across 4 devices"):
        dp.check("train.batch_size", 6)


def test_each_process_reads_its_share_with_one_shape():
    lengths = np.array([3, 9, 70, 5, 2, 8, 4, 6])
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    split = TokenSplit(tokens=np.arange(offsets[-1]) % 7 + 1, offsets=offsets,
                       targets=np.arange(8, dtype=np.int32))
    whole = list(batches(split, 4, max_length=128, min_bucket=4, shuffle_seed=1))
    parts = [list(batches(split, 4, max_length=128, min_bucket=4, shuffle_seed=1, part=(p, 2)))
             for p in range(2)]
    for k, batch in enumerate(whole):
        for key in batch:
            np.testing.assert_array_equal(
                np.concatenate([parts[0][k][key], parts[1][k][key]]), batch[key])
        assert parts[0][k]["inputs"].shape == parts[1][k]["inputs"].shape  # one bucket


# Runs `python -m lra ARGV` in a process that, if STOP_AT is set, sends itself SIGTERM while
# its training batch STOP_AT is read: a preempted host, at a step the test knows.
PREEMPTED = """
import os, signal, sys
import lra.prepare
from lra import checkpoint
from lra.cli import main
real, count, stop_at = lra.prepare.batches, [0], int(os.environ.get("STOP_AT", "0"))
def batches(*args, **kwargs):
    for batch in real(*args, **kwargs):
        if kwargs.get("shuffle_seed") is not None:
            count[0] += 1
            if count[0] == stop_at:
                os.kill(os.getpid(), signal.SIGTERM)
        yield batch
lra.prepare.batches = batches
if os.environ.get("CHOOSE"):  # this process's timing of model.conv=auto, planted
    from lra import choose
    choose.choose = lambda *a: {"chosen": os.environ["CHOOSE"], "median_ms": {"fft": 1.0,
                                "chunked": 1.0}, "shape": [1, 1, 1], "dtype": "float32",
                                "device": "cpu"}
sys.exit(main(sys.argv[1:]))
"""


def two_processes(args: list[str], tmp_path: Path, stop_at: tuple[int, int] = (0, 0),
                  choose: tuple[str, str] = ("", "")):
    """Runs args in two processes joined by jax.distributed on localhost; (codes, outputs).
    choose: what each process's timing of model.conv=auto finds ('': timed for real)."""
    import socket

    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    procs = []
    for i in range(2):
        env = {**os.environ, "JAX_PLATFORMS": "cpu", "LRA_COORDINATOR": f"localhost:{port}",
               "LRA_NUM_PROCESSES": "2", "LRA_PROCESS_ID": str(i), "STOP_AT": str(stop_at[i]),
               "CHOOSE": choose[i],
               "LRA_CACHE_DIR": str(tmp_path / f"cache{i}")}
        procs.append(subprocess.Popen([sys.executable, "-c", PREEMPTED, *args], cwd=REPO,
                                      env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True))
    outs = [p.communicate(timeout=600)[0] for p in procs]
    return [p.returncode for p in procs], outs


def test_two_processes_stop_together_resume_and_train_like_one(tmp_path):
    """jax.distributed over two CPU processes (gloo collectives): each reads half of each batch
    and process 0 writes the records. SIGTERM to one process (not the writer) at step 4 stops
    both there: each saves step 4 and exits 143, neither waits in a save the other never joins.
    Rerun, they resume, and the records equal a one-process run's. Their timings of
    model.conv=auto disagree (planted): both run process 0's choice."""
    gen.generate(tmp_path / "data", train=48, val=40, test=40, min_length=5, max_length=40,
                 max_depth=4, seed=1)
    args = [*ARGS, "--set", "train.epochs=2", "--data-dir", str(tmp_path / "data")]
    two = [*args, "--set", "model.conv=auto", "--workdir", str(tmp_path / "two")]
    codes, outs = two_processes(two, tmp_path, stop_at=(0, 4), choose=("fft", "chunked"))
    assert codes == [143, 143], outs[0][-1500:] + outs[1][-1500:]
    assert json.loads((tmp_path / "two" / "config.json").read_text())["model"]["conv"] == "fft"
    assert all("model.conv=auto: fft (1.0 ms; chunked 1.0 ms)" in out and
               "chosen by process 0" in out for out in outs)
    assert all("stopped by SIGTERM at step 4;" in out for out in outs)
    assert checkpoint.latest_step(tmp_path / "two") == 4
    codes, outs = two_processes(two, tmp_path)
    assert codes == [0, 0], outs[0][-1500:] + outs[1][-1500:]
    assert main([*args, "--workdir", str(tmp_path / "one")]) == 0
    result = json.loads((tmp_path / "two" / "result.json").read_text())
    assert result["provenance"]["device"] == {"count": 2, "kind": "cpu", "platform": "cpu",
                                              "processes": 2}
    assert result["resumed_from_step"] == 4
    a = read_metrics(tmp_path / "one" / "metrics.jsonl")
    b = read_metrics(tmp_path / "two" / "metrics.jsonl")
    assert [(r["split"], r["step"]) for r in b] == [(r["split"], r["step"]) for r in a]
    np.testing.assert_allclose([r["loss"] for r in b], [r["loss"] for r in a], rtol=2e-4)


# The ListOps smoke config's training step, compiled for 4 (fake) CPU devices as a run compiles
# it: its FFTs' batch sizes and the collectives it holds.
FFT_STEP = """
import json, re
import jax
from lra.build import max_length
from lra.configs import get_config
from lra.configs.common import task_adapter
from lra.distributed import DataParallel
from lra.dryrun import compile_train
cfg = get_config("listops", "smoke", ["model.conv=fft", "model.remat=false"])
spec = task_adapter("listops").SPEC
program = compile_train(cfg, spec, DataParallel(), max_length(cfg, spec), 10)[0].as_text()
print(json.dumps({"batch": cfg.train.batch_size,
                  "ffts": re.findall(r"= \\w+\\[([\\d,]+)\\]\\S* fft\\(", program),
                  "all_gathers": program.count("all-gather")}))
"""


def test_each_device_transforms_only_its_own_rows():
    """XLA gives an FFT no rule for a batch split over devices and would gather the whole batch
    onto each device to transform it there (models/s4d.py per_device): under data parallelism
    each batched FFT of the step holds a quarter of the batch on 4 devices, and nothing is
    gathered. (That the values are the one-device step's: test_four_devices_train_like_one.)"""
    flags = os.environ.get("XLA_FLAGS", "")
    env = {**os.environ, "XLA_FLAGS": f"{flags} --xla_force_host_platform_device_count=4",
           "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", FFT_STEP], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.splitlines()[-1])
    batched = [dims.split(",") for dims in out["ffts"] if len(dims.split(",")) == 3]
    assert len(batched) == 2 * (2 + 2)  # 2 layers, each 2 FFTs forward and 2 backward
    assert {int(d[0]) for d in batched} == {out["batch"] // 4}
    assert out["all_gathers"] == 0
