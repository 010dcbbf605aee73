"""The service's settings: one place, each also settable as an AGENT_ROLLOUTS_* environment variable."""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from kernel.secrets import read_secret
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
    cache_ttl: float = Field(default=5.0, ge=0)
    alpha_fail: float = Field(default=0.01, gt=0, lt=1)
    alpha_pass: float = Field(default=0.05, gt=0, lt=1)
    min_requests: int = Field(default=30, ge=1)
    rate_limit_per_minute: int = Field(default=600, ge=1)
    max_body_bytes: int = Field(default=16_384, ge=256)
    # Requests without a valid token and report pages, per client address, in a bucket of their own
    # so that they cannot use up the judgements' budget.
    unauthenticated_rate_limit_per_minute: int = Field(default=120, ge=1)
    # Comma-separated addresses whose X-Forwarded-For is believed; empty: none.
    trusted_proxies: str = ""

    def read_token(self) -> str:
        """The bearer token from AGENT_ROLLOUTS_TOKEN or the file AGENT_ROLLOUTS_TOKEN_FILE (--token-file)."""
        return read_secret(self.token, self.token_file, "AGENT_ROLLOUTS_TOKEN")

    def judge_config(self, report_base_url: str = "") -> JudgeConfig:
        return JudgeConfig(
            alpha_fail=self.alpha_fail,
            alpha_pass=self.alpha_pass,
            min_requests=self.min_requests,
            report_base_url=self.public_url or report_base_url,
        )
