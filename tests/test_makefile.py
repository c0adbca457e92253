"""The make targets a user types expand to commands that the CLI accepts, with the right names."""

import json
import shlex
import subprocess
from pathlib import Path

import pytest

import tasks
from lra.cli import parser
from lra.sweep import plan

ROOT = Path(__file__).resolve().parent.parent
TASKS = list(tasks.TASKS)  # every registered task has its targets, sCIFAR included


def commands(target: str, *assignments: str) -> list[list[str]]:
    """The `python -m lra ...` argument lists that `make -n target` would run."""
    text = subprocess.run(["make", "-n", "-C", str(ROOT), target, *assignments], check=True,
                          capture_output=True, text=True).stdout.replace("\\\n", " ")
    return [shlex.split(line.split("-m lra", 1)[1]) for line in text.splitlines()
            if "-m lra " in line]


@pytest.mark.parametrize("task", TASKS)
def test_task_targets_run_every_seed_of_the_chosen_model(task):
    (full,) = commands(task, "SEEDS=0 1 2", "MODEL=s4d-lin", "DATA=/d", "RUNS=/r")
    args = parser().parse_args(full)
    assert (args.command, args.task, args.config, args.model) == ("sweep", task, "full", "s4d-lin")
    assert (args.seeds, args.data_dir, args.runs) == ([0, 1, 2], "/d", "/r")
    (smoke,) = commands(f"{task}-smoke")
    args = parser().parse_args(smoke)
    assert (args.task, args.config, args.model) == (task, "smoke", "s4d-inv")


def test_lra_runs_all_six_and_ablation_runs_the_papers_grid(tmp_path):
    assert [parser().parse_args(c).task for c in commands("lra", "SEEDS=0")] == \
        ["listops", "text", "retrieval", "image", "pathfinder", "pathx"]
    (sweep,) = commands("ablation")  # the paper's setting by default: sCIFAR's ablation config
    assert (parser().parse_args(sweep).task, parser().parse_args(sweep).config) == \
        ("scifar", "ablation")
    (sweep,) = commands("ablation", "TASK=pathfinder", "CONFIG=smoke")
    args = parser().parse_args(sweep)
    assert (args.task, args.config) == ("pathfinder", "smoke")
    runs = plan(args.task, args.config, tmp_path, [0], grid=args.grid)
    assert len(runs) == 45
    assert runs[0].overrides == ("model.a_init=legs", "model.disc=zoh", "model.real_transform=exp")
    assert runs[-1].overrides == ("model.a_init=rand", "model.disc=dss",
                                  "model.real_transform=none")


def test_demo_trains_listops_and_pathfinder_then_reports():
    cmds = [parser().parse_args(c) for c in commands("demo", "RUNS=/r")]
    trains = [(a.task, a.config) for a in cmds if a.command == "train"]
    assert trains == [("listops", "demo"), ("pathfinder", "demo")]
    assert cmds[-1].command == "report" and cmds[-1].runs == "/r/demo/runs"


@pytest.mark.parametrize("accel", ["cpu", "cuda12", "cuda13", "tpu"])
def test_install_takes_jax_for_the_accelerator_at_the_locked_version(accel):
    lock = (ROOT / "requirements.lock").read_text()
    (jax_version,) = [line.split("==")[1] for line in lock.splitlines() if line.startswith("jax==")]
    text = subprocess.run(["make", "-n", "-C", str(ROOT), "install", f"ACCEL={accel}"],
                          check=True, capture_output=True, text=True).stdout.replace("\\\n", " ")
    pip, plugin = [shlex.split(line) for line in text.splitlines() if "pip install" in line]
    assert pip[pip.index("-c") + 1] == "requirements.lock" and "-e" in pip
    extras = [a for a in pip if a.startswith("jax[")]
    assert extras == ([] if accel == "cpu" else [f"jax[{accel}]=={jax_version}"])
    # Whatever the accelerator, XLA's GPU compiler for `train --plan-for`, apart from the venv's
    # packages and without the CUDA libraries (lra/plan.py).
    assert plugin[plugin.index("--target") + 1] == ".venv/cuda-plan" and "--no-deps" in plugin
    assert {f"jax-cuda12-plugin=={jax_version}", f"jax-cuda12-pjrt=={jax_version}"} <= set(plugin)


def test_an_unknown_accelerator_is_refused():
    out = subprocess.run(["make", "-n", "-C", str(ROOT), "install", "ACCEL=rocm"],
                         capture_output=True, text=True)
    assert out.returncode != 0 and "ACCEL=rocm: choose one of cpu cuda12 cuda13 tpu" in out.stderr


def test_every_target_that_runs_python_first_makes_the_venv():
    makefile = (ROOT / "Makefile").read_text()
    for line in makefile.splitlines():
        target, sep, rest = line.partition(":")
        if not sep or line.startswith(("\t", "#", " ")) or "=" in target or rest.startswith(
                "=") or target in (
                "help", "install", "lock", "clean", ".PHONY", "$(BIN)/python", "$(STAMP)",
                ".DEFAULT_GOAL", "lra", "device-check", "test-latest", "$(CUDA_PLAN)/.installed"):
            # lra: through the task targets it runs; device-check, test-latest: another Python;
            # the plugin's folder: pip alone, into a folder of the venv
            continue
        assert "$(STAMP)" in rest.split("##")[0], target


def test_make_ablation_runs_the_papers_setting_end_to_end(tmp_path, capsys):
    """`make ablation`'s own sweep over two grid points of sCIFAR's ablation config, shrunk by
    --set, on CIFAR-10 batches in the real format; the table names the setting and the keys."""
    from lra.cli import main
    from tests.formats import write_cifar_batches

    write_cifar_batches(tmp_path / "data", per_batch=1010)  # 50 train images after the 5k val
    shrink = ("--set model.d_model=8 --set model.n_layers=1 --set model.d_state=4 "
              "--set train.epochs=1 --set train.batch_size=25 "
              "--set train.eval_batch_size=1010")
    runs, out = tmp_path / "runs", tmp_path / "out"
    (sweep,) = commands("ablation", "GRID=--grid model.disc=zoh,bilinear", f"SWEEP_OPTS={shrink}",
                        f"DATA={tmp_path / 'data'}", f"RUNS={runs}", "SEEDS=0")
    assert main(sweep) == 0 and "summary: 2 finished" in capsys.readouterr().out
    config = json.loads(next(runs.rglob("config.json")).read_text())
    assert (config["model"]["postact"], config["model"]["norm"], config["seed"]) == \
        ("linear", "layer", 0)
    assert main(["report", "--runs", str(runs), "--out", str(out)]) == 0
    text = (out / "ablations.md").read_text()
    assert ("## sCIFAR: ablation config with model.d_model=8, model.d_state=4, "
            "model.n_layers=1, train.batch_size=25, train.epochs=1, train.eval_batch_size=1010, "
            "cifar-10-batches-py data, 1/1 epochs (the setting of state-spaces/s4 v3.0.0 "
            "configs/experiment/cifar/s4-cifar-ablation.yaml)") in text, text
    assert "| disc | accuracy |" in text
