"""Rendering with the real `kubectl kustomize`: files per overlay, errors naming the directory."""

from pathlib import Path

import pytest
import yaml

from ci.render import RenderError, kustomize_build, overlays, render_overlays, render_stack

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = FIXTURES / "good"


def test_overlays_are_discovered_per_environment() -> None:
    assert [p.relative_to(GOOD).as_posix() for p in overlays(GOOD)] == [
        "rollouts/envs/dev/demo-agent",
        "rollouts/envs/prod/demo-agent",
    ]
    assert [p.name for p in overlays(GOOD, "prod")] == ["demo-agent"]
    assert overlays(GOOD, "staging") == []


def test_render_writes_one_file_per_overlay(tmp_path: Path) -> None:
    written = render_overlays(tmp_path, root=GOOD)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        "dev/demo-agent.yaml",
        "prod/demo-agent.yaml",
    ]
    prod = list(yaml.safe_load_all((tmp_path / "prod" / "demo-agent.yaml").read_text()))
    assert {doc["metadata"]["namespace"] for doc in prod} == {"agents-prod"}
    assert not list(tmp_path.rglob("*.tmp")), "temporary files must be renamed or removed"


def test_render_stack_joins_an_environments_overlays() -> None:
    docs = list(yaml.safe_load_all(render_stack("prod", GOOD)))
    assert {doc["kind"] for doc in docs} == {
        "Rollout",
        "Service",
        "AnalysisTemplate",
        "PrometheusRule",
        "NetworkPolicy",
    }


def test_a_broken_overlay_names_the_directory(tmp_path: Path) -> None:
    broken = FIXTURES / "broken" / "kustomize-error"
    with pytest.raises(RenderError) as caught:
        kustomize_build(broken)
    assert str(broken) in str(caught.value)
    assert "missing-service.yaml" in str(caught.value)
