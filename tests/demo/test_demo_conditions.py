"""Argo's condition outcome table and the expr subset the AnalysisTemplates use."""

import pytest

from tools.demo.conditions import ConditionError, Phase, evaluate_condition, measurement_phase

PASS, FAIL = 'result.verdict == "pass"', 'result.verdict == "fail"'


@pytest.mark.parametrize(
    ("verdict", "phase"),
    [("pass", Phase.SUCCESSFUL), ("fail", Phase.FAILED), ("inconclusive", Phase.INCONCLUSIVE)],
)
def test_both_conditions_make_a_third_verdict_inconclusive(verdict: str, phase: Phase) -> None:
    assert measurement_phase({"verdict": verdict}, PASS, FAIL) == phase


def test_failure_wins_when_both_conditions_hold() -> None:
    assert measurement_phase([0.5], "result[0] > 0.1", "result[0] > 0.2") == Phase.FAILED


def test_only_a_success_condition_fails_when_false() -> None:
    assert measurement_phase([0.5], "result[0] < 0.1", None) == Phase.FAILED


def test_only_a_failure_condition_succeeds_when_false() -> None:
    assert measurement_phase([0.05], None, "result[0] > 0.1") == Phase.SUCCESSFUL


def test_no_condition_is_successful_as_in_argo_code() -> None:
    assert measurement_phase({"anything": 1}, None, None) == Phase.SUCCESSFUL


def test_missing_field_is_an_error_not_a_pass() -> None:
    assert measurement_phase({"score": 90}, PASS, FAIL) == Phase.ERROR


def test_index_into_an_empty_vector_is_an_error() -> None:
    assert measurement_phase([], "result[0] <= 0.01", None) == Phase.ERROR


@pytest.mark.parametrize(
    ("expression", "result", "expected"),
    [
        ("len(result) == 0 || result[0] <= 0.01", [], True),
        ("len(result) > 0 && result[0] <= 0.01", [0.02], False),
        ("!(result[0] > 1.5)", [1.2], True),
        ("result[0] != 1", [1.0], False),
        ('result.verdict == "a && b"', {"verdict": "a && b"}, True),
        ("asFloat(result) >= 0.9", "0.95", True),
        ("isNaN(result[0]) || result[0] < 2", [float("nan")], True),
        ("default(result.missing, 3) == 3", {"missing": None}, True),
    ],
)
def test_expr_subset(expression: str, result: object, expected: bool) -> None:
    assert evaluate_condition(expression, result) is expected


@pytest.mark.parametrize("expression", ["result[0] +", "__import__('os')", "result.verdict"])
def test_unsupported_or_non_boolean_expressions_raise(expression: str) -> None:
    with pytest.raises(ConditionError):
        evaluate_condition(expression, {"verdict": "pass"})
