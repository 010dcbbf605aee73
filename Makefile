# One-command set-up and the two entry points: `make demo` and `make test`.
# Every target bootstraps what it needs from a clean clone, idempotently.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

VENV  := .venv
PY    := $(VENV)/bin/python
TOOLS := $(CURDIR)/.tools
BIN   := $(TOOLS)/bin

# Pinned external tools, installed by their ordinary clients into .tools/ (git-ignored).
KUBECONFORM_VERSION := v0.7.0
ACTIONLINT_VERSION  := v1.7.12
CHECKOV_VERSION     := 3.3.30
DEBIAN_PACKAGES     := prometheus chromium fonts-dejavu-core
APT_INSTALL         := apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends

export PATH := $(BIN):$(CURDIR)/$(VENV)/bin:$(PATH)
export AGENT_ROLLOUTS_TOOLS := $(TOOLS)

.PHONY: all bootstrap python tools schemas debian-packages demo test lint typecheck golden clean cluster cluster-test argocd
all: test

bootstrap: python tools

python: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

tools: debian-packages schemas $(BIN)/kubeconform $(BIN)/actionlint $(TOOLS)/checkov/bin/checkov $(BIN)/argo-conformance

# kubeconform schemas, offline: Kubernetes kinds from kubernetes-validate, CRDs from ../shared/crds
# (or $AGENT_ROLLOUTS_CRD_DIR). Regenerated only when a source changes.
schemas: python
	$(PY) -m ci.schemas

$(BIN)/kubeconform:
	GOBIN=$(BIN) go install github.com/yannh/kubeconform/cmd/kubeconform@$(KUBECONFORM_VERSION)

$(BIN)/actionlint:
	GOBIN=$(BIN) go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

# Argo Rollouts' own providers and evaluator, built from tests/conformance/argo (its own Go
# module). Rebuilt only when its sources change; the first build from empty Go caches is slow
# (see README, Conformance).
CONFORMANCE_SOURCES := $(wildcard tests/conformance/argo/*.go) tests/conformance/argo/go.mod tests/conformance/argo/go.sum
$(BIN)/argo-conformance: $(CONFORMANCE_SOURCES)
	cd tests/conformance/argo && go build -buildvcs=false -o $@ .

# Local control plane (opt-in, not part of bootstrap/test; see README, Local control plane).
# kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes v1.34.1, the version
# argo-rollouts v1.9.1 pins) and the Argo Rollouts controller and kubectl plugin are the `tool`s
# of tools/cluster's Go module; kwok is a pinned release; etcd is Debian's etcd-server.
CLUSTER_BIN   := $(TOOLS)/cluster/bin
KWOK_VERSION  := v0.8.0

cluster: python argocd $(CLUSTER_BIN)/.built $(CLUSTER_BIN)/kwok $(TOOLS)/cluster/kwok-stages.yaml
	@command -v etcd >/dev/null || { $(APT_INSTALL) etcd-server; }

$(CLUSTER_BIN)/.built: tools/cluster/go.mod tools/cluster/go.sum
	mkdir -p $(CLUSTER_BIN)
	cd tools/cluster && nice -n 19 go build -buildvcs=false -trimpath -ldflags='-s -w' -o $(CLUSTER_BIN)/ tool
	touch $@

$(CLUSTER_BIN)/kwok:
	GOBIN=$(CLUSTER_BIN) nice -n 19 go install -trimpath -ldflags='-s -w' sigs.k8s.io/kwok/cmd/kwok@$(KWOK_VERSION)

# kwok needs Stages to act as a kubelet: its own "fast" ones (nodes Ready, pods Running and Ready,
# deleted pods removed), taken from the pinned module.
$(TOOLS)/cluster/kwok-stages.yaml:
	dir=$$(go mod download -json sigs.k8s.io/kwok@$(KWOK_VERSION) | sed -n 's/.*"Dir": "\(.*\)",/\1/p'); \
	for stage in node/fast/node-initialize pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do \
	  echo '---'; cat "$$dir/kustomize/stage/$$stage.yaml"; \
	done > $@

# bootstrap and release validate what they write: schemas and kubeconform, as for the demo.
cluster-test: cluster schemas $(BIN)/kubeconform
	$(PY) -m pytest -m 'cluster or argocd' tests/cluster

# Argo CD for `cluster up --argocd`: one multi-call binary built from tools/argocd's Go module
# (its own: Argo CD pins k8s.io/* v0.34.0, Argo Rollouts v0.34.1) and started by link name;
# rebuilt only when that module's go.mod or go.sum change. The repo-server runs kustomize (the
# release Argo CD v3.2.11 ships, hack/tool-versions.sh) and git; redis is Debian's redis-server.
ARGOCD_BIN         := $(TOOLS)/argocd/bin
ARGOCD_VERSION      = $(shell sed -n 's|^\tgithub.com/argoproj/argo-cd/v3 v\([^ ]*\).*|\1|p' tools/argocd/go.mod)
ARGOCD_LINKS       := argocd-application-controller argocd-repo-server argocd-applicationset-controller argocd-server
KUSTOMIZE_VERSION  := v5.7.0

argocd: $(ARGOCD_BIN)/.built $(ARGOCD_BIN)/kustomize
	@command -v redis-server >/dev/null || { $(APT_INSTALL) redis-server; }

$(ARGOCD_BIN)/.built: tools/argocd/go.mod tools/argocd/go.sum
	mkdir -p $(ARGOCD_BIN)
	cd tools/argocd && nice -n 19 go build -buildvcs=false -trimpath \
	  -ldflags='-s -w -X github.com/argoproj/argo-cd/v3/common.version=$(ARGOCD_VERSION)' \
	  -o $(ARGOCD_BIN)/argocd github.com/argoproj/argo-cd/v3/cmd
	for name in $(ARGOCD_LINKS); do ln -sf argocd $(ARGOCD_BIN)/$$name; done
	touch $@

$(ARGOCD_BIN)/kustomize:
	GOBIN=$(ARGOCD_BIN) nice -n 19 go install -trimpath -ldflags='-s -w' sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

# checkov pins many libraries of its own, so it lives in a virtualenv apart from the project's.
$(TOOLS)/checkov/bin/checkov:
	python3 -m venv $(TOOLS)/checkov
	$(TOOLS)/checkov/bin/pip install --quiet checkov==$(CHECKOV_VERSION)

# promtool and prometheus come from Debian's package; chromium renders report pages in tests.
debian-packages:
	@if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null || ! command -v chromium >/dev/null; then \
	  $(APT_INSTALL) $(DEBIAN_PACKAGES); \
	fi

# Only what the rehearsal uses: Prometheus, and the validation `agent-rollouts release` runs.
demo: python debian-packages schemas $(BIN)/kubeconform
	$(PY) -m agent_rollouts demo

lint: python
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: python
	$(PY) -m mypy

test: bootstrap lint typecheck
	$(PY) -m pytest

# Regenerate the checked-in rendered manifests that tests/manifests compares against.
# Rendered apart first, so a failed render leaves the old files in place.
golden: python
	rm -rf $(TOOLS)/golden
	$(PY) -m agent_rollouts render -o $(TOOLS)/golden
	rm -rf tests/golden && mv $(TOOLS)/golden tests/golden

clean:
	rm -rf $(VENV) $(TOOLS) .demo out
