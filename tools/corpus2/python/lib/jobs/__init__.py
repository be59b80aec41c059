"""jobs: a third-party task runner that wraps whatever a task raises."""


class TaskFailed(Exception):
    pass


def run(name, fn, *args):
    try:
        return fn(*args)
    except Exception as e:
        raise TaskFailed(f"task {name} failed") from e
