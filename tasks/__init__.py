"""Task adapters: raw data -> checked, cached arrays + a TaskSpec. One file per task.

Each entry has a SPEC (TaskSpec) and `load(data_dir, *, max_length) -> TaskData`. Adding a task:
write tasks/<name>.py with those two, then add one line below (docs/adding-a-task.md).
"""

from tasks import image, listops, pathfinder, retrieval, scifar, text

TASKS = {
    "listops": listops,
    "text": text,
    "retrieval": retrieval,
    "image": image.IMAGE,
    "pathfinder": pathfinder.PATHFINDER,
    "pathx": pathfinder.PATHX,
    "scifar": scifar.TASK,
}
