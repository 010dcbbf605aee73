"""Secrets from an environment variable or a mounted file, never from argv or logs."""

from pathlib import Path

from pydantic import SecretStr

from kernel.errors import AgentRolloutsError


class SecretMissing(AgentRolloutsError):
    """A required secret is unset, unreadable or empty; the message names the setting, never the value."""


def read_secret(value: SecretStr | None, file: Path | None, setting: str) -> str:
    """The secret from `value` (env `SETTING`) or the file `SETTING_FILE` names, stripped."""
    if value is not None and value.get_secret_value().strip():
        return value.get_secret_value().strip()
    if file is not None:
        try:
            text = file.read_text().strip()
        except OSError as exc:
            raise SecretMissing(f"{setting}_FILE: cannot read {file} ({exc.strerror})") from None
        if text:
            return text
        raise SecretMissing(f"{setting}_FILE: {file} is empty")
    raise SecretMissing(f"{setting} or {setting}_FILE must be set")
