"""`train --plan-for`: XLA's GPU compiler plans the steps for GPUs this machine does not have.

Through `python -m lra` in processes of their own, as a user runs it: the command puts JAX on
the CPU and finds the CUDA plugin `make install` put in the venv's cuda-plan folder."""

import json
import subprocess
import sys

import pytest

from lra import plan
from lra.cli import main
from lra.errors import ConfigError


def lra(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lra", "train", "--task", "listops",
                           "--config", "smoke", *args], capture_output=True, text=True,
                          timeout=600)


def test_steps_are_planned_for_gpus_not_here_and_a_step_over_the_limit_gets_its_fix(tmp_path,
                                                                                    capsys):
    spec = tmp_path / "my-gpu.txtpb"  # another GPU: its target config, as XLA writes one
    spec.write_text(plan.GPUS["h100-80gb"].target_config()
                    .replace('"NVIDIA H100 80GB HBM3"', '"My GPU"')
                    .replace("device_memory_size: 80000000000", "device_memory_size: 90000000"))
    out = lra("--plan-for", f"{spec}:2", "--set", "model.remat=auto", "--json")
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout)
    assert (r["device"], r["devices"]) == ("My GPU", 2)  # XLA's GPU devices, from the file
    assert r["memory_bytes"] == int(0.75 * 90e6) and "JAX's default" in r["memory_from"]
    plans = {s["remat"]: s for s in r["steps"]}
    assert set(plans) == {False, True} and all(s["fits"] for s in r["steps"])
    assert 0 < plans[True]["peak_bytes"] < plans[False]["peak_bytes"]
    assert r["evals"][0]["fits"] and r["evals"][0]["peak_bytes"] > 0
    assert r["params"] > 0 and (r["batch"], r["length"]) == (8, 2048)
    # XLA's counts of each planned step, and its bytes at the file's bandwidth: recomputing
    # adds operations; an epoch is the release's 96,000 examples, then val and test at 16.
    assert r["bandwidth"] == 3.35e12 and r["flops32"] == 2 * 128 * 132 * 1.98e9
    for s in [*r["steps"], *r["evals"]]:
        assert 0 < s["fft_bytes"] < s["bytes_accessed"] and s["fft_flops"] < s["flops"]
        assert s["traffic_s"] == s["bytes_accessed"] / 3.35e12
        # Where they go, by the model's modules: the S4D layers' backward pass moves the most.
        parts = s["bytes_by_part"]
        assert sum(p["bytes"] for p in parts) == pytest.approx(s["bytes_accessed"], rel=0.02)
        assert parts[0]["part"] == ("SequenceClassifier/backbone/block_*/S4D_0" +
                                    (" backward" if s in r["steps"] else ""))
    assert plans[True]["flops"] > plans[False]["flops"]
    assert (r["steps_per_epoch"], r["eval_batches"]) == (96_000 // 8, 2 * 2_000 // 16)
    assert plans[False]["epoch_traffic_s"] == pytest.approx(
        12_000 * plans[False]["traffic_s"] + 250 * r["evals"][0]["traffic_s"])
    (tmp_path / "plans.jsonl").write_text(out.stdout)  # the table of `lra bench --plan-table`
    assert main(["bench", "--plan-table", str(tmp_path / "plans.jsonl")]) == 0
    row = capsys.readouterr().out.splitlines()[-1]
    assert main(["bench", "--plan-table", str(tmp_path / "plans.jsonl"), "--against",
                 str(tmp_path / "plans.jsonl")]) == 2  # plans where the dry runs should be
    assert "plans.jsonl: no dry runs; pass lines" in capsys.readouterr().err
    gib = [f"{s['peak_bytes'] / 2**30:.2f}" for s in r["steps"]]
    assert row == (f"| listops (8, 2,048) | 2 x my-gpu.txtpb (64 MiB) | {gib[0]} / {gib[1]} | "
                   f"- | {r['evals'][0]['peak_bytes'] / 2**30:.2f} / - | "
                   f"{plans[False]['epoch_traffic_s']:.1f} s / - | all fit |")
    # Under a third of its activations' memory, the plain step needs 4 micro-batches (8 rows
    # over 2 GPUs: 2 or 4): the plan names the smallest under which the step, compiled, fits.
    step = plans[False]
    limit = step["fixed_bytes"] + (step["peak_bytes"] - step["fixed_bytes"]) // 3
    tight = lra("--plan-for", f"{spec}:2", "--set", f"train.memory_limit={limit}")
    assert tight.returncode == 0, tight.stderr[-2000:]
    assert "does not fit: try train.grad_accum=4 or model.remat=true" in tight.stdout
    assert "12,000 steps and 250 eval batches move their bytes at 3.35 TB/s in: conv=fft, " \
        "remat=false: " in tight.stdout
    share = step["bytes_by_part"][0]["bytes"] / sum(p["bytes"] for p in step["bytes_by_part"])
    assert "bytes by part   conv=fft, remat=false, by the model's modules" in tight.stdout
    assert f"{share:4.0%} SequenceClassifier/backbone/block_*/S4D_0 backward (" in tight.stdout


def test_bad_targets_are_one_line_errors(tmp_path, capsys):
    for given, says in (("h300", "--plan-for h300: no such GPU; name one of a100-40gb"),
                        ("h200:0", "--plan-for h200:0: after ':' give the number of GPUs")):
        assert main(["train", "--task", "listops", "--config", "smoke", "--plan-for",
                     given]) == 2
        assert capsys.readouterr().err.strip().startswith(f"error: {says}")
    (tmp_path / "notes.txt").write_text("an A100, I think\n")
    (tmp_path / "dry.jsonl").write_text('{"task": "listops", "peak_bytes": 1}\n')
    assert main(["bench", "--plan-table", str(tmp_path / "dry.jsonl")]) == 2
    assert "dry.jsonl: no plans; pass lines" in capsys.readouterr().err
    assert main(["bench", "--against", str(tmp_path / "dry.jsonl")]) == 2
    assert "--against DRYRUN_FILE sets dry runs beside plans: give --plan-table" in \
        capsys.readouterr().err
    with pytest.raises(ConfigError, match="notes.txt: not a GPU target config"):
        plan.target(str(tmp_path / "notes.txt"))
    # This test process runs JAX without the plugin's folder on its path, as a venv whose
    # install did not put it there: the command says how to get it.
    with pytest.raises(ConfigError, match="--plan-for needs JAX's CUDA plugin"):
        plan.devices(plan.target("h200"))
