"""Sweeps launched elsewhere than this process, each run a separate `train` process: local
jobs side by side, stopped by SIGTERM and resumed by a rerun; a two-point sweep through
submitit's local executor (the slurm launcher's code path) with one task preempted by the
scheduler's signal, requeued and resumed, then rerun skipping both; the SLURM script and job
array submitit writes."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import submitit

from lra.cli import main
from lra.launch import slots, train_argv
from lra.sweep import plan, shard, sweep

SETS = ["--set", "train.batch_size=8", "--set", "train.eval_batch_size=40",
        "--set", "train.checkpoint_every=4", "--set", "train.tensorboard=false"]


def sweep_argv(data, runs, *extra):
    return ["sweep", "--task", "listops", "--config", "smoke", "--data-dir", str(data),
            "--runs", str(runs), *SETS, *extra]


def wait_for(condition, what, timeout=180):
    t0 = time.time()
    while not condition():
        assert time.time() - t0 < timeout, f"timed out waiting for {what}"
        time.sleep(0.05)


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_local_jobs_stopped_by_sigterm_resume_on_rerun(listops_data, tmp_path, capsys):
    runs = tmp_path / "runs"
    argv = sweep_argv(listops_data, runs, "--seeds", "0", "1", "--launcher", "local", "--jobs", "2",
                      "--set", "train.epochs=4")
    sweep = subprocess.Popen([sys.executable, "-m", "lra", *argv], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    workdirs = [r.workdir for r in plan("listops", "smoke", runs, [0, 1])]
    # Training has begun once the first metrics row is written (step 5 of 48).
    wait_for(lambda: all((w / "metrics.jsonl").exists() for w in workdirs), "both runs training")
    sweep.send_signal(signal.SIGTERM)
    out, _ = sweep.communicate(timeout=120)
    assert sweep.returncode == 128 + signal.SIGTERM, out
    assert "the sweep was stopped by SIGTERM" in out and "summary: 2 stopped" in out
    assert "cores 0" in out  # each run pinned to its share of the cores
    assert all(json.loads((w / "stopped.json").read_text())["status"] == "stopped"
               for w in workdirs)
    assert main(argv) == 0  # the same command resumes both
    out = capsys.readouterr().out
    assert "summary: 2 finished" in out
    cores = len(os.sched_getaffinity(0))
    usable = [json.loads((w / "stopped.json").read_text())["provenance"]["cpus_usable"]
              for w in workdirs]
    assert sum(usable) == cores if cores >= 2 else usable == [1, 1]  # split, not shared
    for w in workdirs:
        result = json.loads((w / "result.json").read_text())
        assert result["epochs_completed"] == 4 and result["resumed_from_step"] > 0
        assert "resuming" in Path(f"{w}.log").read_text()
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("already ended") == 2 and "started:" not in out


def test_submitit_local_sweep_a_preempted_task_resumes_and_a_rerun_skips(listops_data, tmp_path,
                                                                          capsys):
    runs, overrides = tmp_path / "runs", [s for s in SETS if s != "--set"]
    grid = ["model.disc=zoh,bilinear"]
    out = sweep("listops", "smoke", listops_data, runs, [0], grid=grid, launcher="submitit-local",
                overrides=[*overrides, "train.epochs=4"], log=print)
    (a, b), jobs = [r.workdir for r in plan("listops", "smoke", runs, [0], grid=grid)], out["jobs"]
    wait_for(lambda: (a / "metrics.jsonl").exists(), "training to begin")
    (task,) = children(jobs[0]._process.pid)  # submitit's task process; `train` is its child
    os.kill(task, signal.SIGUSR2)  # what SLURM sends before a time limit or on preemption
    assert [job.result() for job in jobs] == ["finished", "finished"]
    assert "preempted" in jobs[0].stderr()  # submitit's handler saw it and requeued the task
    results = [json.loads((w / "result.json").read_text()) for w in (a, b)]
    assert results[0]["resumed_from_step"] > 0 and results[1]["resumed_from_step"] is None
    assert all(r["epochs_completed"] == 4 for r in results)
    made = [r["provenance"] for r in results]
    assert len({p["pid"] for p in made} | {os.getpid()}) == 3  # each in its own process
    assert all(p["job"]["SUBMITIT_LOCAL_JOB_ID"] for p in made)  # and its job says which
    capsys.readouterr()
    argv = sweep_argv(listops_data, runs, "--launcher", "submitit-local", "--wait",
                      "--grid", grid[0], "--set", "train.epochs=4")
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert text.count("already ended") == 2 and "submitted job" not in text
    assert "summary: 2 finished" in text


def test_the_slurm_script_and_array_carry_the_options(listops_data, tmp_path, monkeypatch, capsys):
    bin_dir = tmp_path / "bin"  # the scheduler's commands: sbatch answers as SLURM does
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text("#!/bin/sh\necho 'Submitted batch job 4242'\n")
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 0\n")
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    runs = tmp_path / "runs"
    argv = sweep_argv(listops_data, runs, "--seeds", "0", "1", "--launcher", "slurm", "--partition",
                      "gpu", "--gpus-per-task", "2", "--time", "600", "--parallel", "1",
                      "--cpus-per-task", "8", "--mem", "64G", "--slurm-opt", "account=lab",
                      "--slurm-setup", "source .venv/bin/activate")
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "submitted job 4242_0" in out and "submitted job 4242_1" in out
    assert "summary: 2 not started" in out
    (script,) = runs.rglob("*_submission.sh")
    text = script.read_text()
    for line in ("#SBATCH --partition=gpu", "#SBATCH --gpus-per-node=2", "#SBATCH --time=600",
                 "#SBATCH --array=0-1%1", "#SBATCH --cpus-per-task=8", "#SBATCH --mem=64G",
                 "#SBATCH --account=lab", "#SBATCH --ntasks-per-node=1",
                 "#SBATCH --signal=USR2@90", "#SBATCH --requeue", "source .venv/bin/activate"):
        assert line in text, line
    pickles = sorted(runs.rglob("*_submitted.pkl"))
    jobs = [submitit.core.utils.DelayedSubmission.load(p).function for p in pickles]
    expected = [train_argv(r, task="listops", variant="smoke", data_dir=listops_data, model=None,
                           overrides=[s for s in SETS if s != "--set"])
                for r in plan("listops", "smoke", runs, [0, 1])]
    assert [j.argv for j in jobs] == expected
    assert main(["sweep", "--task", "listops", "--config", "smoke", "--runs", str(runs),
                 "--seeds", "0", "1", "--status"]) == 0
    assert "summary: 2 not started" in capsys.readouterr().out


def test_shards_split_the_sweep_and_slots_split_the_machine(tmp_path, monkeypatch):
    runs = plan("listops", "smoke", tmp_path, [0, 1, 2], grid=["model.disc=zoh,bilinear"])
    parts = [shard(runs, f"{i}/4") for i in range(1, 5)]
    assert sorted(r.workdir for p in parts for r in p) == sorted(r.workdir for r in runs)
    assert [len(p) for p in parts] == [2, 2, 1, 1]
    with pytest.raises(Exception, match="--shard '0/4'"):
        shard(runs, "0/4")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    assert [s["env"]["CUDA_VISIBLE_DEVICES"] for s in slots(2)] == ["0,1", "2,3"]
    assert len(slots(None)) == 4
    with pytest.raises(Exception, match="at most one run per GPU"):
        slots(5)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    cores = [s["cores"] for s in slots(2)]
    assert set().union(*cores) == os.sched_getaffinity(0)
