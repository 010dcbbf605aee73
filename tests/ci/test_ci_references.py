"""The prod digest check matches the whole image reference; the judge's tolerances agree across a Rollout."""

import pytest

from ci.checks.references import check_digests, check_tolerances

DIGEST = "sha256:" + "ab" * 32


def rollout(image: str) -> dict[str, object]:
    return {"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": image}]}}}}


@pytest.mark.parametrize(
    ("image", "pinned"),
    [(f"ghcr.io/a/b@{DIGEST}", True), (f"ghcr.io/a/b@{DIGEST}\n", False), ("ghcr.io/a/b:v1", False)],
)
def test_only_a_reference_ending_in_a_digest_is_pinned(image: str, pinned: bool) -> None:
    assert (list(check_digests(rollout(image))) == []) == pinned


def judged(step_args: list[dict[str, str]]) -> tuple[dict[str, object], list[dict[str, object]]]:
    """A Rollout whose background and one step ask templates that declare a tolerance arg."""
    template = {
        "kind": "AnalysisTemplate",
        "metadata": {"name": "judge"},
        "spec": {"args": [{"name": "canary-hash"}, {"name": "tolerance-errors", "value": "0.01"}]},
    }
    canary = {
        "analysis": {"templates": [{"templateName": "judge"}]},
        "steps": [
            {"setWeight": 10},
            {"analysis": {"templates": [{"templateName": "judge"}], "args": step_args}},
        ],
    }
    return {"kind": "Rollout", "spec": {"strategy": {"canary": canary}}}, [template]


def test_a_gate_with_its_own_tolerance_is_refused_naming_both_places() -> None:
    rollout, docs = judged([{"name": "tolerance-errors", "value": "0.02"}])
    assert list(check_tolerances(rollout, docs)) == [
        (
            "spec.strategy.canary.steps[1].analysis.args",
            "tolerance-errors is '0.02' here but '0.01' at spec.strategy.canary.analysis: every "
            "analysis asking the judge must send the same tolerances to share one false-abort "
            "budget (docs/judge.md)",
        )
    ]


def test_the_same_tolerance_given_or_defaulted_is_accepted() -> None:
    for step_args in ([], [{"name": "tolerance-errors", "value": "0.01"}]):
        rollout, docs = judged(step_args)
        assert list(check_tolerances(rollout, docs)) == []
