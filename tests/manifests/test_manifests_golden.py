"""Golden files: every overlay's rendered output is checked in, so CI fails on any drift."""

from manifests_render import Doc, Rendered, build

from kernel.catalog import AGENTS
from kernel.toolpaths import REPO_ROOT

GOLDEN = REPO_ROOT / "tests" / "golden"
REGENERATE = "run `make golden` and review the diff"


def test_every_overlay_has_a_golden_file_and_no_golden_file_is_orphaned(
    rendered: dict[str, Rendered],
) -> None:
    golden = {path.relative_to(GOLDEN).with_suffix("").as_posix() for path in GOLDEN.rglob("*.yaml")}
    assert golden == set(rendered), f"golden files and overlays differ; {REGENERATE}"


def test_rendered_output_matches_its_golden_file(rendered: dict[str, Rendered]) -> None:
    drifted = [
        name for name, item in sorted(rendered.items()) if (GOLDEN / f"{name}.yaml").read_text() != item.text
    ]
    assert not drifted, f"rendered output drifted from tests/golden for {drifted}; {REGENERATE}"


def identity(doc: Doc) -> tuple[str, str, str]:
    return doc["kind"], doc["metadata"].get("namespace", ""), doc["metadata"]["name"]


def test_the_top_level_kustomization_is_the_whole_dev_stack(rendered: dict[str, Rendered]) -> None:
    stack = build(REPO_ROOT)
    dev = [doc for name, item in rendered.items() if name.startswith("dev/") for doc in item.docs]
    assert sorted(map(identity, stack.docs)) == sorted(map(identity, dev))
    assert {doc["metadata"]["name"] for doc in stack.all("Rollout")} == {f"{agent}-agent" for agent in AGENTS}
