"""Helpers shared by the agent tests (a unique module name: test dirs have no __init__.py)."""

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from agents.auth import mint_token

SECRET = "test-jwt-secret-for-agents-0123456789abcdef"


def auth_headers(subject: str = "tester", secret: str = SECRET, ttl: int = 300) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(secret, subject, ttl)}"}


# A real HTTP server standing in for a remote OpenAI-compatible LLM, which cannot be reached here.
class FakeChatCompletions(BaseHTTPRequestHandler):
    requests_seen: list[dict[str, Any]] = []
    reply_status = 200
    reply_body: bytes = b""

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        FakeChatCompletions.requests_seen.append(
            {
                "path": self.path,
                "auth": self.headers["Authorization"],
                "body": json.loads(self.rfile.read(length)),
            }
        )
        self.send_response(self.reply_status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.reply_body)

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass
