"""Ships the platform's manifests (rollouts/, analysis/) inside the package as kernel/manifests.

They are copied at build time, so git holds them once and `pip install .` carries what `bootstrap`
vendors into an environments repo. Everything else is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

MANIFEST_DIRS = ("rollouts", "analysis")  # kernel.toolpaths.MANIFEST_DIRS (the kernel is not importable here)


class BuildWithManifests(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "kernel" / "manifests"
        for name in MANIFEST_DIRS:
            shutil.rmtree(target / name, ignore_errors=True)
            shutil.copytree(name, target / name, ignore=shutil.ignore_patterns("__pycache__", ".*"))


setup(cmdclass={"build_py": BuildWithManifests})
