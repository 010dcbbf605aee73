"""The upstream CRDs manifests are validated against, at the releases `../shared/crds` holds.

`agent-rollouts crds DIR` (and `ci/fetch-crds.sh DIR`) downloads them for CI runners that have no
`../shared/crds`, such as an environments repo's own validate workflow. Standard library only, so
`python3 -m ci.crds DIR` runs before any virtualenv exists.
"""

import sys
import urllib.error
import urllib.request
from pathlib import Path

RAW = "https://raw.githubusercontent.com"
ROLLOUTS = f"{RAW}/argoproj/argo-rollouts/v1.9.1/manifests/crds"
ARGOCD = f"{RAW}/argoproj/argo-cd/v3.5.1/manifests/crds"
OPERATOR = f"{RAW}/prometheus-operator/prometheus-operator/v0.93.0/example/prometheus-operator-crd"
ISTIO = f"{RAW}/istio/istio/1.30.3/manifests/charts/base/files"
# Folder under DIR -> the files of one project.
SOURCES = {
    "argo-rollouts": [
        f"{ROLLOUTS}/{name}-crd.yaml"
        for name in (
            "rollout",
            "analysis-template",
            "cluster-analysis-template",
            "analysis-run",
            "experiment",
        )
    ],
    "argo-cd": [f"{ARGOCD}/{name}-crd.yaml" for name in ("application", "applicationset", "appproject")],
    "prometheus-operator": [
        f"{OPERATOR}/monitoring.coreos.com_{name}.yaml"
        for name in ("podmonitors", "prometheusrules", "servicemonitors")
    ],
    "istio": [f"{ISTIO}/crd-all.gen.yaml"],
}


class DownloadFailed(Exception):
    """A CRD file could not be downloaded; the message names its URL."""


def download(out_dir: Path, timeout: float = 30.0) -> list[Path]:
    """Fetch every CRD file into `out_dir/<project>/`; a file is written only once fully read."""
    written = []
    for folder, urls in SOURCES.items():
        (out_dir / folder).mkdir(parents=True, exist_ok=True)
        for url in urls:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    body = response.read()
            except (urllib.error.URLError, TimeoutError) as exc:
                raise DownloadFailed(f"{url}: {getattr(exc, 'reason', exc)}") from exc
            path = out_dir / folder / url.rsplit("/", 1)[-1]
            path.write_bytes(body)
            written.append(path)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python3 -m ci.crds DIR", file=sys.stderr)  # noqa: T201
        return 2
    try:
        download(Path(argv[0]))
    except DownloadFailed as exc:
        print(f"ci.crds: error: {exc}", file=sys.stderr)  # noqa: T201
        return 5
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
