"""Metrics backends on loopback sockets that misbehave on purpose: they trickle, or never answer.

No Prometheus answers like this, but Thanos/Mimir front-ends, proxies, overloaded or partitioned
deployments can.
"""

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tools.procs import LOOPBACK

Answer = Callable[[socket.socket], None]


@contextmanager
def serving(answer: Answer) -> Iterator[str]:
    """A loopback server on an OS-chosen port; `answer` writes each connection's reply."""
    listener = socket.create_server((LOOPBACK, 0))
    stopped = threading.Event()

    def handle(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            request = b""
            try:
                while b"\r\n\r\n" not in request:
                    request += conn.recv(65536)
                answer(conn)
            except OSError:
                pass  # the client gave up: what the deadline is for

    def accept() -> None:
        while not stopped.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{listener.getsockname()[1]}"
    finally:
        stopped.set()
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
        listener.close()
        thread.join(5)


def trickle(interval: float, head: bool = False) -> Answer:
    """A byte every `interval` seconds, in the status line (`head`) or in a body that never ends."""

    def answer(conn: socket.socket) -> None:
        if not head:
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            )
        for byte in (b"HTTP/1.1 200 OK\r\n" if head else b"") + b'{"status":"success"' + b" " * 1000:
            conn.sendall(bytes([byte]))
            time.sleep(interval)

    return answer


@contextmanager
def blackholed() -> Iterator[str]:
    """A backend that never answers: a listener nobody accepts from. The kernel completes the first
    connections' handshakes (they send their query and wait for ever); once its short queue is
    full, further connects hang unanswered too, as towards a host that drops packets."""
    with socket.create_server((LOOPBACK, 0), backlog=2) as listener:
        yield f"http://{LOOPBACK}:{listener.getsockname()[1]}"
