"""model.remat=auto and the memory check before the first step (lra/fit.py), through the trainer:
limits given by train.memory_limit, between the figures XLA plans for the steps."""

import json
import os
import signal

import pytest

from lra import fit
from lra.cli import main
from lra.configs import get_config
from lra.configs.common import parse_size
from lra.dryrun import dry_run, report
from lra.errors import ConfigError
from tests.lra.test_resume import train_rows_at

SMOKE = ["train.batch_size=16", "train.eval_batch_size=16", "max_length=512"]


def run(data, workdir, *sets, flags=()):
    args = ["train", "--task", "listops", "--config", "smoke", "--data-dir", str(data),
            "--workdir", str(workdir), *flags]
    for item in [*SMOKE, "train.epochs=1", *sets]:
        args += ["--set", item]
    return main(args)


def plans(*sets) -> dict:
    return dry_run(get_config("listops", "smoke", [*SMOKE, *sets]), steps=1)


@pytest.fixture(scope="module")
def plain():
    return plans("model.remat=false")


@pytest.fixture(scope="module")
def remat():
    return plans("model.remat=true")


def test_auto_recomputes_where_only_that_fits_and_a_resumed_run_keeps_it(
        listops_data, tmp_path, capsys, monkeypatch, plain, remat):
    between = (plain["peak_bytes"] + remat["peak_bytes"]) // 2
    with monkeypatch.context() as m:  # 96 // 16 = 6 steps an epoch: stopped in epoch 1
        train_rows_at(m, {3: lambda batch: os.kill(os.getpid(), signal.SIGTERM)})
        assert run(listops_data, tmp_path / "run", "model.remat=auto", "train.epochs=2",
                   f"train.memory_limit={between}") == 128 + signal.SIGTERM
    assert json.loads((tmp_path / "run" / "config.json").read_text())["model"]["remat"] is True
    choice = json.loads((tmp_path / "run" / "stopped.json").read_text())["remat_choice"]
    assert choice["chosen"] is True and choice["limit_from"] == "train.memory_limit"
    # The run compiled the same steps as the dry run and planned the same memory; only one
    # fits, so neither was timed.
    assert choice["peak_bytes"] == {"false": plain["peak_bytes"], "true": remat["peak_bytes"]}
    assert "step_ms" not in choice
    assert "model.remat=auto: true (the step plans" in capsys.readouterr().out
    # Resumed without the limit (where a fresh run could choose otherwise), it keeps remat.
    assert run(listops_data, tmp_path / "run", "model.remat=auto", "train.epochs=2",
               flags=["--resume"]) == 0
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["remat_choice"] == {"chosen": True, "by": "the resumed run's config.json"}
    assert result["resumed_from_step"] == 3


def test_the_dry_run_resolves_it_as_a_run_does(plain, remat):
    """Under a limit only the recomputed step fits: the dry run takes it and says so; under one
    neither fits, its verdict offers no remat."""
    between = (plain["peak_bytes"] + remat["peak_bytes"]) // 2
    r = plans("model.remat=auto", f"train.memory_limit={between}")
    assert r["remat"] is True and r["remat_choice"]["chosen"] is True
    assert r["fits"] and r["peak_bytes"] == remat["peak_bytes"] and r["step_s"] > 0
    line = next(x for x in report(r) if x.lstrip().startswith("remat"))
    assert "model.remat=auto: true (the step plans" in line
    below = plans("model.remat=auto", f"train.memory_limit={remat['fixed_bytes']}")
    assert below["remat"] is True and not below["fits"]
    assert "does not fit: try a smaller train.batch_size or model" in "\n".join(report(below))


def test_auto_times_both_where_both_fit(plain, remat):
    """Under a limit both steps fit: both are timed, and remat is taken only if it is clearly
    faster (the dry run resolves it as a run does)."""
    r = plans("model.remat=auto", f"train.memory_limit={plain['peak_bytes']}")
    choice = r["remat_choice"]
    assert set(choice["step_ms"]) == {"false", "true"} and min(choice["step_ms"].values()) > 0
    faster = choice["step_ms"]["true"] < (1 - fit.REMAT_GAIN) * choice["step_ms"]["false"]
    assert r["remat"] is choice["chosen"] is faster
    assert r["peak_bytes"] == (remat if faster else plain)["peak_bytes"]
    assert fit.describe(choice).startswith(f"model.remat=auto: {str(faster).lower()} (a step ")


def test_a_step_over_the_limit_stops_the_run_before_anything_is_written(listops_data, tmp_path,
                                                                        capsys, plain, remat):
    assert run(listops_data, tmp_path / "run", "model.remat=auto",
               f"train.memory_limit={remat['fixed_bytes']}") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "the training step plans" in err, err
    assert "of train.memory_limit: set a smaller train.batch_size or model" in err
    assert not (tmp_path / "run").exists()
    # Without remat the fix names it, and the grad_accum under which the step compiled fits
    # (the dry run's estimate holds: tests/lra/test_dryrun.py).
    tight = plain["fixed_bytes"] + (plain["peak_bytes"] - plain["fixed_bytes"]) // 3
    assert run(listops_data, tmp_path / "run", "model.remat=false",
               f"train.memory_limit={tight}") == 2
    assert "set train.grad_accum=4 or model.remat=true" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_an_evaluation_step_over_the_limit_is_found_before_the_first_epoch(listops_data,
                                                                           tmp_path, capsys):
    big = plans("model.remat=false", "train.eval_batch_size=256")
    assert big["eval_peak_bytes"] > big["peak_bytes"]
    between = (big["peak_bytes"] + big["eval_peak_bytes"]) // 2
    assert run(listops_data, tmp_path / "run", "model.remat=false", "train.eval_batch_size=256",
               f"train.memory_limit={between}") == 2
    err = capsys.readouterr().err
    assert "the evaluation step plans" in err and not (tmp_path / "run").exists()
    largest = int(err.split("train.eval_batch_size=")[2].split()[0])
    assert 16 <= largest < 256
    # Compiled at it, the evaluation step fits (and one more example does not: a bisection).
    r = plans("model.remat=false", f"train.eval_batch_size={largest}",
              f"train.memory_limit={between}")
    assert r["eval_fits"], (largest, r["eval_peak_bytes"], between)


def test_the_limit_is_a_size_and_a_bad_one_is_named():
    assert parse_size("40GiB") == 40 * 2**30 and parse_size("80GB") == 80 * 10**9
    assert parse_size("512MiB") == 2**29 and parse_size("17179869184") == 2**34
    for bad in ("40 GiB", "lots", "0", "-1GB", "40Gb"):
        with pytest.raises(ConfigError, match=r"train.memory_limit=.*expected a size in bytes"):
            get_config("listops", "smoke", [f"train.memory_limit={bad}"])
    mem = fit.limit(get_config("listops", "smoke", ["train.memory_limit=1GiB"]))
    assert (mem.bytes, mem.source, mem.hard) == (2**30, "train.memory_limit", True)
    host = fit.limit(get_config("listops", "smoke"))  # a CPU: the host's memory, a guide only
    assert host.source == "host memory available" and not host.hard and host.bytes > 0


def test_a_resumed_run_keeps_its_choice():
    cfg = get_config("listops", "smoke", ["model.remat=auto"])

    def never(_):
        raise AssertionError("a resumed run compiles nothing to choose")

    kept, choice = fit.resolve(cfg, never, fit.Limit(1, "test", True), saved=True)
    assert kept.model.remat is True and choice["by"] == "the resumed run's config.json"
    assert fit.resolve(get_config("listops", "smoke"), never, fit.Limit(1, "", True)) == (
        get_config("listops", "smoke"), None)  # a named value is not chosen
