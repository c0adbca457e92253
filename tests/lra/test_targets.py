"""The speed targets against dry-run figures: each epoch bound and the six runs' sum."""

from lra import targets


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
