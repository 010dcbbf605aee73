"""The service's settings: one place, each also settable as an AGENT_ROLLOUTS_* environment variable."""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from kernel.secrets import read_secret
from webhook.backends import Connection
from webhook.judge import JudgeConfig


class JudgeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGENT_ROLLOUTS_", extra="ignore")

    prometheus_url: str = "http://127.0.0.1:9090"
    backend: str = "prometheus"
    token: SecretStr | None = None
    token_file: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    # Base URL of this service as people reach it, for `report_url`; default: the URL Argo called.
    public_url: str = ""
    # Each PromQL query must finish well inside Argo's 10 s web-provider timeout.
    query_timeout: float = Field(default=3.0, gt=0, le=9)
    # Every query and the decision of one judgement; past it, 503 (Argo gives up after 10 s).
    judgement_deadline: float = Field(default=8.0, gt=0, lt=10)
    # /readyz's wait for the backend, inside the kubelet's default 1 s probe timeout.
    readiness_deadline: float = Field(default=0.8, gt=0, le=9)
    cache_ttl: float = Field(default=5.0, ge=0)
    alpha_fail: float = Field(default=0.0099, gt=0, lt=1)
    alpha_pass: float = Field(default=0.05, gt=0, lt=1)
    min_requests: int = Field(default=30, ge=1)
    rate_limit_per_minute: int = Field(default=600, ge=1)
    max_body_bytes: int = Field(default=16_384, ge=256)
    # Requests without a valid token and report pages, per client address, in a bucket of their own
    # so that they cannot use up the judgements' budget.
    unauthenticated_rate_limit_per_minute: int = Field(default=120, ge=1)
    # Comma-separated addresses whose X-Forwarded-For is believed; empty: none.
    trusted_proxies: str = ""
    # Reaching a backend behind auth or TLS (Thanos, Mimir, VictoriaMetrics); see docs/security.md.
    prometheus_bearer_token: SecretStr | None = None
    prometheus_bearer_token_file: Path | None = None
    prometheus_basic_user: str | None = None
    prometheus_basic_password: SecretStr | None = None
    prometheus_basic_password_file: Path | None = None
    prometheus_ca_file: Path | None = None
    prometheus_cert_file: Path | None = None
    prometheus_key_file: Path | None = None
    # Extra request headers as JSON, e.g. {"X-Scope-OrgID": "team-a"} for Mimir.
    prometheus_headers: dict[str, str] = Field(default_factory=dict)
    # Query warnings (partial responses) make a verdict inconclusive, unless the warning contains
    # one of these substrings (JSON list): only for warnings known not to lose data.
    harmless_warnings: list[str] = Field(default_factory=list)

    def read_token(self) -> str:
        """The bearer token from AGENT_ROLLOUTS_TOKEN or the file AGENT_ROLLOUTS_TOKEN_FILE (--token-file)."""
        return read_secret(self.token, self.token_file, "AGENT_ROLLOUTS_TOKEN")

    def backend_connection(self) -> Connection:
        """Credentials and TLS for the metrics backend; secrets from the environment or files."""
        bearer = (
            read_secret(self.prometheus_bearer_token, self.prometheus_bearer_token_file,
                        "AGENT_ROLLOUTS_PROMETHEUS_BEARER_TOKEN")
            if self.prometheus_bearer_token or self.prometheus_bearer_token_file
            else None
        )  # fmt: skip
        basic = None
        if self.prometheus_basic_user:
            password = read_secret(self.prometheus_basic_password, self.prometheus_basic_password_file,
                                   "AGENT_ROLLOUTS_PROMETHEUS_BASIC_PASSWORD")  # fmt: skip
            basic = (self.prometheus_basic_user, password)
        return Connection(
            bearer_token=bearer,
            basic_auth=basic,
            ca_file=self.prometheus_ca_file,
            cert_file=self.prometheus_cert_file,
            key_file=self.prometheus_key_file,
            headers=self.prometheus_headers,
        )

    def judge_config(self, report_base_url: str = "") -> JudgeConfig:
        return JudgeConfig(
            alpha_fail=self.alpha_fail,
            alpha_pass=self.alpha_pass,
            min_requests=self.min_requests,
            deadline_seconds=self.judgement_deadline,
            report_base_url=self.public_url or report_base_url,
        )
