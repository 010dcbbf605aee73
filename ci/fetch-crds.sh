#!/usr/bin/env bash
# Download the upstream CRDs this repo validates against (the releases ../shared/crds holds) into DIR,
# for CI runners that have no ../shared/crds. Then: AGENT_ROLLOUTS_CRD_DIR=DIR make schemas.
set -euo pipefail

dir="${1:?usage: ci/fetch-crds.sh DIR}"
raw="https://raw.githubusercontent.com"
rollouts="$raw/argoproj/argo-rollouts/v1.9.1/manifests/crds"
argocd="$raw/argoproj/argo-cd/v3.5.1/manifests/crds"
operator="$raw/prometheus-operator/prometheus-operator/v0.93.0/example/prometheus-operator-crd"
istio="$raw/istio/istio/1.30.3/manifests/charts/base/files"

fetch() {  # fetch FOLDER URL...
  mkdir -p "$dir/$1"
  local folder="$1"
  shift
  for url in "$@"; do
    curl --fail --silent --show-error --location --retry 3 --output "$dir/$folder/${url##*/}" "$url"
  done
}

fetch argo-rollouts "$rollouts"/{rollout,analysis-template,cluster-analysis-template,analysis-run,experiment}-crd.yaml
fetch argo-cd "$argocd"/{application,applicationset,appproject}-crd.yaml
fetch prometheus-operator "$operator"/monitoring.coreos.com_{podmonitors,prometheusrules,servicemonitors}.yaml
fetch istio "$istio/crd-all.gen.yaml"
