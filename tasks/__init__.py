"""Task adapters: raw data -> checked, cached arrays + a TaskSpec. One file per task.

Each entry is a TaskAdapter (tasks/base.py): SPEC, Options and
`load(data_dir, *, max_length, options) -> TaskData`. This dict is the one list of tasks: the
configs, the LRA table's columns and paper rows (the tasks whose SPEC.lra is set, in this order),
`python -m lra tasks` and the Makefile's per-task targets all read it. Adding a task: write
tasks/<name>.py and lra/configs/<name>.py, then add one line below (docs/adding-a-task.md).
"""

from tasks import image, listops, pathfinder, retrieval, scifar, text
from tasks.base import TaskAdapter

TASKS: dict[str, TaskAdapter] = {
    "listops": listops,
    "text": text,
    "retrieval": retrieval,
    "image": image.IMAGE,
    "pathfinder": pathfinder.PATHFINDER,
    "pathx": pathfinder.PATHX,
    "scifar": scifar.TASK,
}


def lra_tasks() -> list[str]:
    """The LRA benchmark's tasks, in the order of its table."""
    return [name for name, adapter in TASKS.items() if adapter.SPEC.lra]
