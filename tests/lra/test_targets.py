"""The speed targets against dry-run figures: each epoch bound and the six runs' sum."""

import pytest

from lra import targets
from lra.errors import ConfigError


def dry(task, epoch_s, run_s, variant="full"):
    return {"task": task, "variant": variant, "epoch_s": epoch_s, "run_s": run_s, "devices": 1,
            "device": "NVIDIA H200"}


def test_each_target_is_checked_from_the_dry_runs():
    rows = [dry("listops", 55.0, 55.0 * 40), dry("text", 100.0, 3_200.0),
            dry("retrieval", 300.0, 6_000.0), dry("image", 20.0, 4_000.0),
            dry("pathfinder", 60.0, 12_000.0), dry("pathx", 310.0, 15_500.0)]
    out = targets.check(rows)
    assert out["devices"] == ["1 x NVIDIA H200"]
    assert out["epochs"]["listops"] == {"epoch_s": 55.0, "target_s": 60, "met": True}
    assert out["epochs"]["pathx"] == {"epoch_s": 310.0, "target_s": 300, "met": False}
    assert out["six_runs"] == {"run_s": 2_200.0 + 3_200 + 6_000 + 4_000 + 12_000 + 15_500,
                               "target_s": 43_200, "missing": [], "met": True}


def test_a_missing_or_untimed_task_leaves_its_verdict_open():
    rows = [dry("listops", None, None), dry("pathx", 200.0, 1e6), dry("text", 1.0, 1.0,
                                                                        variant="smoke")]
    out = targets.check(rows)
    assert out["epochs"]["listops"]["met"] is None and out["epochs"]["pathx"]["met"] is True
    assert out["six_runs"]["run_s"] is None and out["six_runs"]["met"] is None
    assert out["six_runs"]["missing"] == ["listops", "text", "retrieval", "image", "pathfinder"]


def full(task, epoch_s, **over):
    """A dry-run row of `train --dry-run --json` with the keys the table reads."""
    row = {**dry(task, epoch_s, epoch_s and 10 * epoch_s), "platform": "gpu", "batch": 16,
           "grad_accum": 1, "timed_grad_accum": 1, "grad_accum_to_fit": None, "fits": True,
           "step_s": 0.25,
           "peak_bytes": 3 * 2**30, "memory_bytes": 100 * 2**30, "steps_per_epoch": 100,
           "memory_from": "the NVIDIA H200 allocator's limit", "remat": False,
           "s4_epoch_time": "56 min (A100)" if task == "pathx" else "15 min (T4)",
           "provenance": {"commit": "0123456789abcdef", "dirty": False,
                          "versions": {"jax": "0.11.2"}}}
    return {**row, **over}


def test_the_table_gives_each_dry_run_beside_s4_and_the_targets():
    peaks = {"false": 200 * 2**30, "true": 50 * 2**30}
    rows = [
        full("listops", 45.0, remat_choice={"chosen": False, "peak_bytes": peaks | {"false": 2**30},
                                            "limit_bytes": 100 * 2**30,
                                            "step_ms": {"false": 100.0, "true": 112.0}},
             bytes_accessed=30.5e9, bytes_per_s=30.5e9 / 0.25),
        full("pathx", 336.0, remat=True, step_s=1.5,
             remat_choice={"chosen": True, "peak_bytes": peaks, "limit_bytes": 100 * 2**30}),
        full("retrieval", None, fits=False, grad_accum_to_fit=2, timed_grad_accum=2, remat=True,
             remat_choice={"chosen": True, "by": "the resumed run's config.json"}),
    ]
    lines = targets.table(rows, "dry.jsonl")
    assert lines[0] == ("Device: 1 x NVIDIA H200 (gpu), commit 0123456, jax 0.11.2; memory "
                        "planned per device, of 100.00 GiB (the NVIDIA H200 allocator's limit).")
    assert lines[4] == ("| listops (16) | 3.00 GiB | false (auto, timed: remat +12%) | fits | "
                        "250 ms | 30.5 GB at 122 GB/s | 0m45s | 15 min (T4) (20x shorter) | "
                        "<= 1 min: met |")
    assert lines[5] == ("| pathx (16) | 3.00 GiB | true (auto, only it fits) | fits | 1.5 s | - | "
                        "5m36s | 56 min (A100) (10x shorter) | <= 5 min: not met |")
    assert lines[6] == ("| retrieval (16) | 3.00 GiB | true (the resumed run's config.json) | "
                        "does not fit (train.grad_accum=2 does) | 250 ms at train.grad_accum=2 | "
                        "- | - | 15 min (T4) | - |")
    assert lines[-1] == ("Six full runs of one seed: no estimate (no timed full dry run of "
                         "text, retrieval, image, pathfinder).")
    failed = {"chosen": False, "peak_bytes": peaks, "limit_bytes": 300 * 2**30,
              "step_ms": {"false": 100.0, "true": None}}  # remat's step failed while timed
    assert "| false (auto, the other step failed) |" in targets.table(
        [full("text", 60.0, remat_choice=failed)], "dry.jsonl")[4]
    with pytest.raises(ConfigError, match="bench.jsonl: no dry-run rows"):
        targets.table([{"bench": "env"}], "bench.jsonl")
