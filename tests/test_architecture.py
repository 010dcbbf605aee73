"""The import rule of docs/architecture.md: kernel at the bottom, libraries above it, the CLI, local
tooling and benchmarks on top; nothing imports the CLI and no library imports the tooling."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from import_graph import (
    BENCHMARKS,
    CLI,
    KERNEL,
    LIBRARIES,
    LOCAL_TOOLING,
    PACKAGES,
    REPO_ROOT,
    imported_packages,
    loaded_project_packages,
    modules,
    package_graph,
)

ALLOWED = {
    KERNEL: set(),
    **{library: {KERNEL, *LIBRARIES} for library in LIBRARIES},
    CLI: {KERNEL, *LIBRARIES, LOCAL_TOOLING},
    LOCAL_TOOLING: {KERNEL, *LIBRARIES},
    BENCHMARKS: {KERNEL, *LIBRARIES, LOCAL_TOOLING},
}


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_only_what_its_layer_may(package: str) -> None:
    graph = package_graph()
    forbidden = {target: files for target, files in graph[package].items() if target not in ALLOWED[package]}
    assert not forbidden, f"{package} may not import {sorted(forbidden)}: {forbidden}"


def test_no_cycle_between_top_level_packages() -> None:
    graph = {package: set(targets) for package, targets in package_graph().items()}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(
            nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})) for nxt in graph[start]
        )

    cycles = [package for package in PACKAGES if reaches(package, package, {package})]
    assert not cycles, f"import cycles through {cycles}: {graph}"


def test_the_walker_sees_lazy_imports(tmp_path: Path) -> None:
    source = tmp_path / "lazy.py"
    source.write_text("def f():\n    from agent_rollouts.cli import main\n    import tools.procs\n")
    assert imported_packages(source) == {CLI, LOCAL_TOOLING}


def test_every_project_package_is_walked() -> None:
    assert all(any(modules(package)) for package in PACKAGES)


def test_the_agent_runtime_loads_no_judge_writer_or_templates() -> None:
    assert loaded_project_packages("import agents.service") == {KERNEL, "agents", "fastapi"}


def test_building_the_cli_loads_no_library() -> None:
    """Commands import their handlers lazily: the parser alone loads only the kernel and the agent variants."""
    loaded = loaded_project_packages("from agent_rollouts.cli import build_parser\nbuild_parser()")
    assert loaded == {KERNEL, CLI, "agents"}


def test_the_package_ships_no_local_tooling_or_benchmarks(tmp_path: Path) -> None:
    """The wheel `pip install .` installs: the product only, and its agent runtime imports cleanly from it."""
    source = tmp_path / "source"  # a copy, so setuptools' build/ folder stays out of the checkout
    shutil.copytree(REPO_ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "tests", "__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("agent_rollouts-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.partition("/")[0] for name in names if "/" in name and ".dist-info" not in name}
    assert top == {KERNEL, *LIBRARIES, CLI}
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)
    probe = (
        f"import sys; sys.path.insert(0, {str(installed)!r}); import agents.service, kernel; "
        f"assert agents.service.__file__.startswith({str(installed)!r}); "
        "names = {m.partition('.')[0] for m in sys.modules}; "
        "assert not names & {'webhook', 'gitops', 'jinja2', 'tools', 'benchmarks'}, names"
    )
    subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, check=True)
