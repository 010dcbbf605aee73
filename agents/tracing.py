"""W3C Trace Context: honour an incoming `traceparent` or start a new trace."""

import re
import secrets
from dataclasses import dataclass

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})\Z")


@dataclass(frozen=True)
class TraceContext:
    trace_id: str
    span_id: str  # this service's span
    flags: str = "01"

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


def from_header(header: str | None) -> TraceContext:
    """Continue the caller's trace when its header is valid, else start a new one."""
    span_id = secrets.token_hex(8)
    match = _TRACEPARENT.match((header or "").strip().lower())
    if match:
        version, trace_id, parent_id, flags = match.groups()
        if version != "ff" and trace_id != "0" * 32 and parent_id != "0" * 16:
            return TraceContext(trace_id, span_id, flags)
    return TraceContext(secrets.token_hex(16), span_id)
