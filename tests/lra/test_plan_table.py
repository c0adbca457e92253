"""The plans' table (lra/plan_table.py) from plan rows with the keys `train --plan-for --json`
writes: the six runs' sum at the bandwidth, and plans beside dry runs on the device."""

from lra import plan_table
from lra.targets import LRA_TASKS


def planned(task, steps, epochs=10, target="h200", dtype="float32"):
    return {"task": task, "variant": "full", "target": target, "devices": 1, "dtype": dtype,
            "batch": 16, "length": 1024, "memory_bytes": 100 * 2**30, "grad_accum": 1,
            "epochs": epochs, "bandwidth": 4.8e12, "retried": {},
            "evals": [{"conv": "fft", "peak_bytes": 2**30, "fits": True}],
            "steps": [{"conv": c, "remat": r, "peak_bytes": 2**30, "fits": fits,
                       "grad_accum_to_fit": None, "epoch_traffic_s": e, "traffic_s": e / 1000,
                       "bytes_accessed": 4.8e9 * e / 1000}
                      for c, r, fits, e in steps],
            "provenance": {"commit": "0123456789", "dirty": False}}


def test_the_six_runs_take_each_tasks_fitting_path_with_the_fewest_bytes():
    rows = [planned(t, [("fft", False, True, 100.0), ("fft", True, True, 150.0)])
            for t in LRA_TASKS[:-1]]
    # Path-X's cheapest path does not fit: the next one counts.
    rows.append(planned("pathx", [("fft", False, False, 60.0), ("fft", True, True, 300.0)],
                        epochs=50))
    rows.append(planned("pathx", [("fft", False, True, 1.0)], dtype="bfloat16"))  # not six
    lines = plan_table.table(rows, "plans.jsonl")
    assert "| pathx (16, 1,024, bfloat16) | h200 (100.00 GiB) |" in lines[-3]
    # 5 tasks x 10 epochs x 100 s + Path-X's 50 x 300 s = 20,000 s
    assert lines[-1] == ("- 1 x h200, float32: the six full runs of one seed move their bytes "
                         "in 5h33m at 4.80 TB/s (each task on its path that fits with the "
                         "fewest bytes), against 12h00m.")


def test_a_plan_beside_the_dry_run_on_its_gpu():
    plans = [planned("pathx", [("fft", False, True, 400.0), ("fft", True, True, 500.0)])]
    dry = {"task": "pathx", "variant": "full", "conv": "fft", "remat": True, "grad_accum": 1,
           "timed_grad_accum": 1, "peak_bytes": 2**29, "bytes_accessed": 2.2e9,
           "step_s": 1.0, "epoch_s": 1200.0, "steps_per_epoch": 10}
    (row,) = plan_table.against(plans, [dry], "dryrun.jsonl")[2:]
    assert row == ("| pathx (h200) | fft, remat=true | 1.00 / 0.50 GiB (2.00x) | 2.4 GB / 2.2 GB "
                   "| 500.0 / 1,000.0 ms (50%) | 8m20s / 20m00s |")
    # Timed at another grad_accum, or on another path, there is nothing to set it beside.
    assert plan_table.against(plans, [{**dry, "timed_grad_accum": 2}], "d")[2:] == []
    assert plan_table.against(plans, [{**dry, "conv": "chunked"}], "d")[2:] == []
