"""Run records as the trainer writes them, for the report's tests."""

import json


def write_record(root, name, task, seed, acc, variant="full", kind="release", model="S4D-Inv",
                 ssm=None, val=None, failed=None, **extra):
    """A run folder as the trainer leaves it: result.json (or failure.json), config.json with
    the SSM choices (S4D-Inv's, updated by `ssm`), metrics.jsonl with one val row per epoch in
    `val`."""
    path = root / name / ("failure.json" if failed else "result.json")
    path.parent.mkdir(parents=True)
    record = {"model": model, "task": task, "variant": variant, "seed": seed,
              "epochs_completed": 40, "epochs_planned": 40, "data": {"kind": kind}, **extra}
    record.update({"error": failed, "epochs_completed": 3} if failed else {"test_accuracy": acc})
    path.write_text(json.dumps(record))
    (path.parent / "config.json").write_text(json.dumps({"model": {
        "a_init": "inv", "b_init": "auto", "disc": "bilinear", "real_transform": "exp",
        "dt_transform": "exp", "b_trainable": True, **(ssm or {})}}))
    if val is not None:
        (path.parent / "metrics.jsonl").write_text("".join(
            json.dumps({"split": "val", "epoch": e, "accuracy": a}) + "\n"
            for e, a in enumerate(val, 1)))
    return path
