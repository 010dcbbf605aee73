"""A stand-in for GitHub's pull-request REST API, on loopback.

GitHub cannot run here (no network beyond the package registries, and its server is not something
one installs), so this real HTTP server speaks the two endpoints `gitops.forge.GitHub` uses, as
GitHub documents them: `POST /repos/{owner}/{repo}/pulls` (201, or 422 "A pull request already
exists") and `GET /repos/{owner}/{repo}/pulls?head=owner:branch&state=open`. Like GitHub, it refuses
a bad token (401) and a head branch the repository does not have (422), checked with real git.
"""

import hmac
import json
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tools.procs import LOOPBACK


@dataclass
class Forge:
    repository: str  # owner/name
    git_dir: Path  # the bare repo the pull requests are opened in
    token: str
    url: str = ""
    pulls: list[dict[str, Any]] = field(default_factory=list)


def _handler(forge: Forge) -> type[BaseHTTPRequestHandler]:
    prefix = f"/repos/{forge.repository}/pulls"

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorized(self) -> bool:
            given = self.headers.get("Authorization", "")
            if hmac.compare_digest(given.encode(), f"Bearer {forge.token}".encode()):
                return True
            self._answer(401, {"message": "Bad credentials"})
            return False

        def do_POST(self) -> None:
            if not self._authorized():
                return
            if urlsplit(self.path).path != prefix:
                self._answer(404, {"message": "Not Found"})
                return
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            exists = subprocess.run(
                [
                    "git",
                    "--git-dir",
                    str(forge.git_dir),
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    f"refs/heads/{request['head']}",
                ],
                capture_output=True,
                check=False,
            )
            if exists.returncode != 0:
                self._answer(
                    422, {"message": "Validation Failed", "errors": [{"field": "head", "code": "invalid"}]}
                )
                return
            if any(p["head"] == request["head"] and p["state"] == "open" for p in forge.pulls):
                message = (
                    f"A pull request already exists for {forge.repository.split('/')[0]}:{request['head']}."
                )
                self._answer(422, {"message": "Validation Failed", "errors": [{"message": message}]})
                return
            number = len(forge.pulls) + 1
            pull = {
                **request,
                "number": number,
                "state": "open",
                "html_url": f"{forge.url}/{forge.repository}/pull/{number}",
            }
            forge.pulls.append(pull)
            self._answer(201, pull)

        def do_GET(self) -> None:
            if not self._authorized():
                return
            url = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            owner = forge.repository.split("/")[0]
            found = [
                p
                for p in forge.pulls
                if f"{owner}:{p['head']}" == query.get("head") and p["state"] == query.get("state", "open")
            ]
            self._answer(200 if url.path == prefix else 404, found)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def running_forge(repository: str, git_dir: Path, token: str) -> Iterator[Forge]:
    forge = Forge(repository, git_dir, token)
    server = ThreadingHTTPServer((LOOPBACK, 0), _handler(forge))  # a port the OS picks
    forge.url = f"http://{LOOPBACK}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield forge
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
