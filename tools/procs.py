"""Start local processes on loopback ports and always stop them, also on errors and Ctrl-C."""

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import requests

LOOPBACK = "127.0.0.1"
# What Python's and Go's servers log when their port was taken (EADDRINUSE).
PORT_TAKEN = "address already in use"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now (a server started on it later can
    find it taken: `spawn_on_free_port` starts again on another)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll `url` until it answers 2xx; fail early if `proc` exits first."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            response = requests.get(url, timeout=1)
            if response.ok:
                return
            last_error = f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            last_error = type(exc).__name__
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s ({last_error})")


def stop(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """Terminate a process group started by `spawn`, killing it after `grace` seconds."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


@contextmanager
def spawn(
    argv: Sequence[str],
    *,
    log: Path,
    ready_url: str | None = None,
    ready_timeout: float = 30.0,
    env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `argv` in its own process group with output to `log`; stop it when the block ends."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    try:
        if ready_url is not None:
            try:
                wait_for_http(ready_url, ready_timeout, proc)
            except (RuntimeError, TimeoutError) as exc:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{argv[0]} did not start: {exc}\n--- {log} ---\n{tail}") from exc
        yield proc
    finally:
        stop(proc)


@contextmanager
def spawn_on_free_port(
    argv: Callable[[int], Sequence[str]],
    *,
    log: Path,
    ready_path: str,
    ready_timeout: float = 30.0,
    env: dict[str, str] | None = None,
    attempts: int = 3,
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`spawn` the server `argv(port)` on a free loopback port; yield it and its base URL.

    `free_port` releases the port it found, so a parallel process can bind it before the server
    does: the server then exits with "address already in use", and only then it is started again
    on another port.
    """
    for attempt in range(1, attempts + 1):
        port = free_port()
        url = f"http://{LOOPBACK}:{port}"
        logged = log.stat().st_size if log.exists() else 0
        with ExitStack() as stack:
            try:
                proc = stack.enter_context(
                    spawn(
                        argv(port), log=log, ready_url=url + ready_path, ready_timeout=ready_timeout, env=env
                    )
                )
            except RuntimeError:
                with log.open("rb") as out:
                    out.seek(logged)
                    taken = PORT_TAKEN in out.read().decode(errors="replace").lower()
                if taken and attempt < attempts:
                    continue
                raise
            yield proc, url
            return
