"""A real Prometheus on loopback, scraping local processes the way a PodMonitor scrapes pods."""

import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kernel.toolpaths import find_tool
from tools.procs import LOOPBACK, spawn_on_free_port


@dataclass(frozen=True)
class ScrapeTarget:
    """One local process, labelled like a pod: rollouts_pod_template_hash, namespace, pod."""

    address: str
    labels: dict[str, str] = field(default_factory=dict)


def scrape_config(targets: Sequence[ScrapeTarget], interval: str) -> dict[str, object]:
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [
            {
                "job_name": "agents",
                "static_configs": [{"targets": [t.address], "labels": dict(t.labels)} for t in targets],
            }
        ],
    }


@contextmanager
def run_prometheus(
    workdir: Path,
    targets: Sequence[ScrapeTarget] = (),
    *,
    scrape_interval: str = "1s",
    data_dir: Path | None = None,
) -> Iterator[str]:
    """Start Prometheus on a free loopback port and yield its base URL; stop it afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(yaml.safe_dump(scrape_config(targets, scrape_interval)))

    def argv(port: int) -> list[str]:
        return [
            find_tool("prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={data_dir or workdir / 'data'}",
            f"--web.listen-address={LOOPBACK}:{port}",
            # Backfilled scenarios sit in the past; keep them however old they are.
            "--storage.tsdb.retention.time=100y",
            "--log.level=warn",
        ]

    log = workdir / "prometheus.log"
    with spawn_on_free_port(argv, log=log, ready_path="/-/ready", ready_timeout=60) as (_, url):
        yield url


def backfill(openmetrics: str, data_dir: Path, workdir: Path) -> None:
    """Write OpenMetrics text (ending in `# EOF`) into TSDB blocks with promtool."""
    data_dir.mkdir(parents=True, exist_ok=True)
    source = workdir / "backfill.om"
    source.write_text(openmetrics)
    subprocess.run(
        [find_tool("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(source), str(data_dir)],
        check=True,
        capture_output=True,
    )
