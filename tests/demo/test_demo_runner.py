"""The rehearsal's work dir: a previous run's is emptied, anything else is left alone."""

from pathlib import Path

import pytest

from tools.demo.runner import WORKDIR_MARKER, prepare_workdir


def test_a_previous_rehearsals_workdir_is_emptied(tmp_path: Path) -> None:
    prepare_workdir(tmp_path / "demo")
    (tmp_path / "demo" / "report.html").write_text("old")
    prepare_workdir(tmp_path / "demo")
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == [WORKDIR_MARKER]


def test_a_folder_the_demo_did_not_make_is_never_deleted(tmp_path: Path) -> None:
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    with pytest.raises(RuntimeError, match="not empty and was not made by `agent-rollouts demo`"):
        prepare_workdir(tmp_path)
    assert precious.read_text() == "keep me"
