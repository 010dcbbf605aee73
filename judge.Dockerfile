# The canary judge image (`agent-rollouts serve`), which rollouts/judge deploys once per cluster.
#   docker build -f judge.Dockerfile -t ghcr.io/agent-rollouts/agent-rollouts .
# Built and pinned like the agents' images: .github/workflows/release.yaml pushes it and runs
# `agent-rollouts release --component judge`. The token arrives at run time as a mounted file.

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
# The judge's packages: the kernel, the judge service (webhook/) and the CLI that starts it.
COPY pyproject.toml README.md ./
COPY kernel kernel
COPY webhook webhook
COPY agent_rollouts agent_rollouts
# Kubernetes' JSON schemas (~100 MB) serve `validate`, which never runs in this image.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/venv/bin/pip install --no-cache-dir . \
 && /opt/venv/bin/pip uninstall --yes --quiet kubernetes-validate

FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin judge
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
ENTRYPOINT ["agent-rollouts", "serve", "--host", "0.0.0.0", "--port", "8080"]
