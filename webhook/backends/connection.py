"""How the judge reaches a metrics backend that sits behind authentication or TLS (Thanos, Mimir,
VictoriaMetrics, a Prometheus behind an auth proxy): credentials, trust and extra headers.
"""

import base64
import ssl
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Connection:
    """Credentials and TLS for every request; secrets come from files or the environment, never argv."""

    bearer_token: str | None = None
    basic_auth: tuple[str, str] | None = None
    ca_file: Path | None = None  # trust this CA bundle instead of the system's
    cert_file: Path | None = None  # a client certificate (mTLS), with its key in key_file or in itself
    key_file: Path | None = None
    headers: dict[str, str] = field(default_factory=dict)  # e.g. Mimir's X-Scope-OrgID

    def __post_init__(self) -> None:
        if self.bearer_token and self.basic_auth:
            raise ValueError("a metrics backend takes a bearer token or basic auth, not both")
        for name, value in self.headers.items():
            if not name.replace("-", "").isalnum() or any(c in value for c in "\r\n\0"):
                raise ValueError(f"prometheus header {name!r}: not a valid HTTP header name and value")

    def request_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.bearer_token:
            headers["Authorization"] = f"Bearer {self.bearer_token}"
        elif self.basic_auth:
            user, password = self.basic_auth
            headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        return headers

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        if self.cert_file:
            context.load_cert_chain(str(self.cert_file), str(self.key_file) if self.key_file else None)
        return context

    def __repr__(self) -> str:  # never print the secrets
        return f"Connection(headers={sorted(self.headers)}, auth={'bearer' if self.bearer_token else 'basic' if self.basic_auth else None})"
