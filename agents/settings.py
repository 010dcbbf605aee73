"""The service's configuration, from `AGENT_*` environment variables and CLI flags."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from agents.auth import DEFAULT_MAX_LIFETIME_SECONDS, MIN_SECRET_BYTES
from agents.providers import LLMProvider
from agents.providers.local import LocalProvider
from agents.providers.openai_compatible import OpenAICompatibleProvider
from kernel.errors import AgentRolloutsError
from kernel.secrets import read_secret


class ConfigError(AgentRolloutsError):
    """The configuration cannot run the service; the message names the setting."""


class AgentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGENT_")

    jwt_secret: SecretStr | None = None
    jwt_secret_file: Path | None = None
    # Tokens valid longer than this are refused however far off their `exp` is.
    jwt_max_lifetime_seconds: int = Field(default=DEFAULT_MAX_LIFETIME_SECONDS, ge=60)
    rate_limit_rps: float = Field(default=100.0, gt=0)
    rate_limit_burst: int = Field(default=200, ge=1)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Requests without a valid token, per client address: enough for a person trying by hand.
    unauthenticated_rate_limit_rps: float = Field(default=1.0, gt=0)
    unauthenticated_rate_limit_burst: int = Field(default=10, ge=1)
    # Comma-separated addresses whose X-Forwarded-For is believed; empty: none.
    trusted_proxies: str = ""
    llm_provider: Literal["local", "openai"] = "local"
    variant: str = "baseline"  # local provider only
    seed: int = 0  # local provider only
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = None
    llm_api_key_file: Path | None = None
    llm_timeout_seconds: float = Field(default=30.0, gt=0)

    def jwt_secret_value(self) -> str:
        """The HS256 secret, from AGENT_JWT_SECRET or the file AGENT_JWT_SECRET_FILE names."""
        secret = read_secret(self.jwt_secret, self.jwt_secret_file, "AGENT_JWT_SECRET")
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"AGENT_JWT_SECRET(_FILE): the secret is {len(secret.encode())} bytes, at least "
                f"{MIN_SECRET_BYTES} are needed (e.g. `openssl rand -base64 32`)"
            )
        return secret

    def build_provider(self) -> LLMProvider:
        """The LLM provider these settings describe."""
        if self.llm_provider == "local":
            return LocalProvider(self.variant, self.seed)
        if not self.llm_base_url:
            raise ConfigError("AGENT_LLM_BASE_URL must be set when AGENT_LLM_PROVIDER=openai")
        api_key = read_secret(self.llm_api_key, self.llm_api_key_file, "AGENT_LLM_API_KEY")
        return OpenAICompatibleProvider(self.llm_base_url, self.llm_model, api_key, self.llm_timeout_seconds)
