#!/usr/bin/env bash
# Download the upstream CRDs this repo validates against (the releases ../shared/crds holds) into DIR,
# for CI runners that have no ../shared/crds. Then: AGENT_ROLLOUTS_CRD_DIR=DIR make schemas.
# The pinned list is ci/crds.py (also `agent-rollouts crds DIR` from an installed package).
set -euo pipefail

dir="${1:?usage: ci/fetch-crds.sh DIR}"
cd "$(dirname "$0")/.."
exec python3 -m ci.crds "$dir"
