"""Scratch directories for the writer's clones and renders that a killed writer cannot leak.

`tempfile.TemporaryDirectory` is removed only if the process gets to run its cleanup; a SIGKILL (or
a SIGTERM, which Python does not turn into an exception) leaves it behind. So every scratch
directory lives under one parent, named after the process that owns it, and each writer first
removes the directories of owners that no longer run.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def scratch_root() -> Path:
    return Path(tempfile.gettempdir()) / "agent-rollouts-scratch"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def sweep() -> None:
    """Remove the scratch directories whose owning process has ended."""
    for entry in scratch_root().glob("*-*"):
        owner = entry.name.split("-", 1)[0]
        if owner.isdigit() and int(owner) != os.getpid() and not _running(int(owner)):
            shutil.rmtree(entry, ignore_errors=True)


@contextmanager
def scratch_dir(kind: str) -> Iterator[Path]:
    """A fresh private directory, removed at the end, swept by the next writer if this one is killed."""
    root = scratch_root()
    root.mkdir(mode=0o700, exist_ok=True)
    sweep()
    path = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-{kind}-", dir=root))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
