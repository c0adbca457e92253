"""Calling an adapter as the trainer does, with its spec's length and default options."""

from tasks.base import TaskAdapter, TaskData


def load(adapter: TaskAdapter, data_dir: str, max_length: int | None = None,
         **options) -> TaskData:
    """adapter.load with max_length (default: the spec's) and Options(**options)."""
    return adapter.load(data_dir, max_length=max_length or adapter.SPEC.max_length,
                        options=adapter.Options(**options))
