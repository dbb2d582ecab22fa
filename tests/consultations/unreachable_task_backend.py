"""A task backend that cannot be reached, as a task queue that is down would be."""

from django_tasks.backends.immediate import ImmediateBackend


class UnreachableTaskBackend(ImmediateBackend):
    def enqueue(self, task, args, kwargs):
        raise ConnectionError("task queue unreachable")
