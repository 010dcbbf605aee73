"""The body of a Prometheus HTTP API answer, checked shape by shape.

Thanos, Mimir and VictoriaMetrics answer in the same format. Anything else (an array, `data: null`,
a number where a string belongs, a timestamp that is not a number, a result that is not a list) is
a `MalformedAnswer` naming the path that was wrong: the judge answers 503, never 500, never data.
"""

import math
from collections.abc import Mapping, Sequence

from webhook.backends.base import BackendUnavailable, Point, Series


class MalformedAnswer(BackendUnavailable):
    """The backend answered, but not in the Prometheus API's format; the message names the path."""


class _Shape(ValueError):
    def __init__(self, path: str, what: str) -> None:
        super().__init__(f"{path} {what}")


def _object(value: object, path: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise _Shape(path, f"is {_kind(value)}, not an object")
    return value


def _list(value: object, path: str) -> Sequence[object]:
    if not isinstance(value, list):
        raise _Shape(path, f"is {_kind(value)}, not a list")
    return value


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _point(value: object, path: str) -> Point:
    pair = _list(value, path)
    if len(pair) != 2:
        raise _Shape(path, f"has {len(pair)} elements, not [timestamp, value]")
    t, v = pair
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
        raise _Shape(f"{path}[0]", f"is {t!r}, not a unix timestamp")
    if not isinstance(v, str):  # the API encodes sample values as strings, NaN and +Inf included
        raise _Shape(f"{path}[1]", f"is {_kind(v)}, not a sample value string")
    try:
        return float(t), float(v)
    except ValueError:
        raise _Shape(f"{path}[1]", f"is {v[:40]!r}, not a number") from None


def _labels(value: object, path: str) -> dict[str, str]:
    labels = _object(value, path)
    for name, label in labels.items():
        if not isinstance(label, str):
            raise _Shape(f"{path}.{name}", f"is {_kind(label)}, not a string")
    return dict(labels)  # type: ignore[arg-type]  # every value checked above


def _series(item: object, path: str, kind: str) -> Series:
    entry = _object(item, path)
    labels = _labels(entry.get("metric", {}), f"{path}.metric")
    if kind == "vector":
        return Series(labels, (_point(entry.get("value"), f"{path}.value"),))
    if "values" not in entry and "histograms" in entry:
        return Series(labels, ())  # native histograms only: no float samples to read
    values = _list(entry.get("values"), f"{path}.values")
    return Series(labels, tuple(_point(v, f"{path}.values[{i}]") for i, v in enumerate(values)))


def parse_success(body: object) -> tuple[list[Series], list[str]]:
    """The series and warnings of a `status: success` answer; raises _Shape on any other shape."""
    answer = _object(body, "the answer")
    warnings = [str(w) for w in _list(answer.get("warnings", []), "warnings")]
    data = _object(answer.get("data"), "data")
    kind = data.get("resultType")
    result = data.get("result")
    if kind == "scalar":
        return [Series({}, (_point(result, "data.result"),))], warnings
    if kind not in ("vector", "matrix"):
        raise _Shape("data.resultType", f"is {kind!r}, not vector, matrix or scalar")
    items = _list(result, "data.result")
    return [_series(item, f"data.result[{i}]", kind) for i, item in enumerate(items)], warnings


def parse_answer(status: int, body: object, promql: str, url: str) -> tuple[list[Series], list[str]]:
    """Series and warnings of a successful answer; BackendUnavailable for an error, MalformedAnswer for junk."""
    if isinstance(body, dict) and body.get("status") == "error":
        error = body.get("error")
        raise BackendUnavailable(
            f"Prometheus rejected {promql!r}: {error if isinstance(error, str) else f'HTTP {status}'}"
        )
    where = f"Prometheus at {url} answered HTTP {status} to {promql!r}"
    if not isinstance(body, dict):
        raise MalformedAnswer(f"{where} malformed: the answer is {_kind(body)}, not an object")
    if status != 200 or body.get("status") != "success":
        raise MalformedAnswer(f"{where} with status {body.get('status')!r}, not success")
    try:
        return parse_success(body)
    except _Shape as exc:
        raise MalformedAnswer(f"{where} malformed: {exc}") from None
