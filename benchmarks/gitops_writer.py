"""Release latency and concurrent throughput on a local bare remote, against the git CLI floor.

`python -m benchmarks.gitops_writer [--releases N] [--writers W]` prints a Markdown table. The floor is the same
one-file commit-and-push done by hand with the git CLI (clone, edit, commit, push; fetch, reset and
redo on a rejected push), without rendering or validation.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from gitops import layout
from gitops.generate import PlatformManifests
from gitops.git import git
from gitops.images import parse_image, set_pin
from gitops.validation import Validator
from gitops.writer import Options, RetryPolicy, bootstrap, init, release
from kernel.catalog import AGENTS, image_repository
from kernel.platform import example_text

_counter = iter(range(1_000_000))
_lock = threading.Lock()


def _image(agent: str) -> str:
    with _lock:
        n = next(_counter)
    return f"{image_repository(agent)}@sha256:{n:064x}"


def by_hand(remote: Path, env: str, agent: str, image: str) -> None:
    """The floor: the same pin edit committed and pushed with the git CLI, retried until it lands."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        git(work, "clone", "--quiet", "--branch", "main", str(remote), ".", check=False)
        while True:
            path = work / layout.pin_file(env, agent)
            data = set_pin(image_repository(agent), yaml.safe_load(path.read_text()), parse_image(image))
            path.write_text(yaml.safe_dump(data, sort_keys=False))
            git(work, "commit", "--quiet", "-am", f"release({env}): {agent}", check=False)
            if git(work, "push", "--quiet", "origin", "HEAD:main", check=False).returncode == 0:
                return
            git(work, "fetch", "--quiet", "origin", "main", check=False)
            git(work, "reset", "--quiet", "--hard", "FETCH_HEAD", check=False)


def with_writer(remote: Path, env: str, agent: str, image: str) -> None:
    release(str(remote), env, agent, image, Options(retry=RetryPolicy(attempts=100)))


def latencies(write: Callable[[Path, str, str, str], None], remote: Path, count: int) -> list[float]:
    times = []
    for index in range(count):
        agent = AGENTS[index % len(AGENTS)]
        start = time.perf_counter()
        write(remote, "dev", agent, _image(agent))
        times.append(time.perf_counter() - start)
    return times


def throughput(write: Callable[[Path, str, str, str], None], remote: Path, writers: int, each: int) -> float:
    """Releases per second with `writers` concurrent writers doing `each` releases (different agents)."""
    jobs = [AGENTS[i % len(AGENTS)] for i in range(writers * each)]
    start = time.perf_counter()
    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(lambda agent: write(remote, "staging", agent, _image(agent)), jobs))
    return len(jobs) / (time.perf_counter() - start)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=10, help="sequential releases per method")
    parser.add_argument("--writers", type=int, default=4, help="concurrent writers")
    parser.add_argument("--each", type=int, default=3, help="releases per concurrent writer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        remote = Path(tmp) / "envs.git"
        subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
        init(str(remote), example_text())
        bootstrap(str(remote), manifests=PlatformManifests.current())
        writer = latencies(with_writer, remote, args.releases)
        floor = latencies(by_hand, remote, args.releases)
        with tempfile.TemporaryDirectory() as clone:
            subprocess.run(["git", "clone", "--quiet", str(remote), clone], check=True)
            validation = []
            for _ in range(args.releases):
                start = time.perf_counter()
                Validator().check(Path(clone), [str(layout.env_folder("dev", AGENTS[0]))])
                validation.append(time.perf_counter() - start)
        writer_rate = throughput(with_writer, remote, args.writers, args.each)
        floor_rate = throughput(by_hand, remote, args.writers, args.each)
    ms = 1000
    rows = [
        ("release latency p50 (s)", statistics.median(writer), statistics.median(floor)),
        ("release latency p95 (s)", p95(writer), p95(floor)),
        (f"throughput, {args.writers} writers (releases/s)", writer_rate, floor_rate),
    ]
    lines = ["| measure | agent-rollouts release | git CLI by hand (floor) | ratio |", "|---|---|---|---|"]
    lines += [f"| {name} | {ours:.3f} | {theirs:.3f} | {ours / theirs:.1f}x |" for name, ours, theirs in rows]
    lines += [
        "",
        f"of which render + validation of one folder: p50 {statistics.median(validation) * ms:.0f} ms",
    ]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
