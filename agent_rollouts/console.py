"""The streams a command writes to, injectable so tests run commands in-process."""

import sys
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Console:
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)

    def error(self, message: str) -> None:
        """Print one line to stderr, prefixed with the program name."""
        print(f"agent-rollouts: error: {message}", file=self.stderr)
