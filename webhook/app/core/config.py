"""The service's settings: one place, each also settable as an AGENT_ROLLOUTS_* environment variable."""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from webhook.judge import JudgeConfig


class Settings(BaseSettings):
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

    def read_token(self) -> str:
        """The bearer token from `token` or `token_file`; raises ValueError when neither gives one."""
        if self.token is not None and self.token.get_secret_value().strip():
            return self.token.get_secret_value().strip()
        if self.token_file is not None:
            try:
                token = self.token_file.read_text().strip()
            except OSError as exc:
                raise ValueError(f"cannot read token file {self.token_file}: {exc.strerror}") from None
            if token:
                return token
            raise ValueError(f"token file {self.token_file} is empty")
        raise ValueError("no token: set AGENT_ROLLOUTS_TOKEN or AGENT_ROLLOUTS_TOKEN_FILE (--token-file)")

    def judge_config(self, report_base_url: str = "") -> JudgeConfig:
        return JudgeConfig(
            alpha_fail=self.alpha_fail,
            alpha_pass=self.alpha_pass,
            min_requests=self.min_requests,
            report_base_url=self.public_url or report_base_url,
        )
