"""One run per workdir: a second train on a locked workdir is refused with the holder named and
touches nothing; a lock left by a killed process is taken over; a refused config leaves no
trace."""

import hashlib
import os
import signal
import subprocess
import sys

import pytest

from lra import lock
from lra.cli import main
from tests.lra.test_resume import train_rows_at

ARGS = ["--set", "train.epochs=1", "--set", "train.batch_size=16", "--set",
        "train.eval_batch_size=40"]


def snapshot(folder) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def hold(workdir):
    """Another process holding the workdir's lock (a run in progress), ready when it prints."""
    code = ("import sys, time; from lra.lock import workdir_lock\n"
            f"with workdir_lock({str(workdir)!r}):\n print('held', flush=True); time.sleep(600)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_locked_workdir_is_refused_untouched_then_taken_over(listops_data, tmp_path,
                                                               monkeypatch, capsys):
    workdir = tmp_path / "run"

    def train():
        return main(["train", "--task", "listops", "--config", "smoke", "--data-dir",
                     str(listops_data), "--workdir", str(workdir), *ARGS])

    with monkeypatch.context() as m:  # a stopped run: checkpoint and stopped.json, resumable
        train_rows_at(m, {3: lambda batch: os.kill(os.getpid(), signal.SIGTERM)})
        assert train() == 128 + signal.SIGTERM
    capsys.readouterr()
    before = snapshot(workdir)
    holder = hold(workdir)
    try:
        assert lock.is_locked(workdir)
        assert train() == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "in use by another run" in err
        assert f"process {holder.pid} on host {os.uname().nodename}" in err
        assert snapshot(workdir) == {**before, ".lock": snapshot(workdir)[".lock"]}
    finally:
        holder.kill()  # SIGKILL: no chance to clean up; its lock file stays behind
        holder.wait()
    assert (workdir / ".lock").exists() and not lock.is_locked(workdir)
    assert train() == 0  # takes the dead process's lock and resumes the run
    assert (workdir / "result.json").exists() and not (workdir / ".lock").exists()


def test_a_run_refused_for_its_config_leaves_no_folder(tmp_path, capsys):
    code = main(["train", "--task", "listops", "--config", "smoke", "--data-dir",
                 str(tmp_path / "nothing"), "--workdir", str(tmp_path / "new")])
    assert code == 2 and not (tmp_path / "new").exists()


def test_the_lock_is_exclusive_within_one_process_too(tmp_path):
    with lock.workdir_lock(tmp_path / "w"):
        assert lock.holder(tmp_path / "w")["pid"] == os.getpid()
        with pytest.raises(lock.TrainingError, match="in use by another run"):
            with lock.workdir_lock(tmp_path / "w"):
                pass
    assert not (tmp_path / "w").exists()  # made by the lock, nothing written: removed


def test_a_sweep_skips_a_run_that_runs_elsewhere(listops_data, tmp_path, capsys):
    from lra.sweep import plan

    runs = tmp_path / "runs"
    (first, second) = [r.workdir for r in plan("listops", "smoke", runs, [0, 1])]
    holder = hold(first)
    try:
        assert main(["sweep", "--task", "listops", "--config", "smoke", "--data-dir",
                     str(listops_data), "--runs", str(runs), "--seeds", "0", "1", *ARGS]) == 0
        out = capsys.readouterr().out
        assert f"{first}: running elsewhere (process {holder.pid}" in out
        assert "summary: 1 finished, 1 running" in out
        assert (second / "result.json").exists() and not (first / "config.json").exists()
    finally:
        holder.kill()
        holder.wait()
