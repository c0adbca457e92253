"""Task adapters: raw data -> checked, cached arrays + a TaskSpec. One file per task.

Adding a task: write tasks/<name>.py with a SPEC and a `load(data_dir, **options) -> TaskData`,
then add one line to TASKS below.
"""

from tasks import listops

TASKS = {
    "listops": listops,
}
