"""Render an environment folder with kustomize and validate the result before anything is committed."""

import hashlib
from pathlib import Path

from ci.render import RenderError, kustomize_build
from gitops.errors import GitopsError
from gitops.git import last_line
from gitops.scratch import scratch_dir
from kernel.errors import ToolMissing


def render_folder(folder: Path, label: str) -> str:
    """`kubectl kustomize` of one folder; `label` names it in errors (a path inside the envs repo)."""
    try:
        return kustomize_build(folder)
    except ToolMissing as exc:
        raise GitopsError(str(exc)) from exc
    except RenderError as exc:
        raise GitopsError(f"{label}: kustomize build failed: {last_line(exc.reason)}") from exc


class Validator:
    """Validates rendered folders, remembering outputs already found valid.

    A retried release re-renders its folder on the new tip; when the output is byte-identical to one
    validated before, validation (a pure function of it) is not run again.
    """

    def __init__(self, crd_dir: Path | None = None) -> None:
        self._valid: set[str] = set()
        self._crd_dir = crd_dir

    def check(self, checkout: Path, targets: list[str]) -> None:
        """Validate folders (rendered first) and YAML files, relative to the checkout; raise on any problem."""
        pending: dict[str, str] = {}
        for folder in targets:
            path = checkout / folder
            rendered = path.read_text() if path.is_file() else render_folder(path, folder)
            digest = hashlib.sha256(rendered.encode()).hexdigest()
            if digest not in self._valid:
                pending[folder] = rendered
        if pending:
            _validate_rendered(pending, self._crd_dir)
            self._valid.update(hashlib.sha256(text.encode()).hexdigest() for text in pending.values())


def _validate_rendered(rendered: dict[str, str], crd_dir: Path | None) -> None:
    """Run the project's manifest validation (schemas and cross-checks, no policy scan) on rendered output."""
    from ci.validate import validate  # the CI area's library; imported late to keep the CLI start fast

    with scratch_dir("render") as tmp:
        files = {tmp / (folder.replace("/", "__") + ".yaml"): folder for folder in rendered}
        for path, folder in files.items():
            path.write_text(rendered[folder])
        try:
            report = validate(list(files), crd_dir=crd_dir, policy=False)
        except ToolMissing as exc:
            raise GitopsError(str(exc)) from exc
    if not report.ok:
        problem = str(report.problems[0])
        for path, folder in files.items():  # name the envs repo folder, not the temporary file
            problem = problem.replace(str(path), folder)
        more = f" (and {len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
        raise GitopsError(f"invalid manifests: {problem}{more}")
