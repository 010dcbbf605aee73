# The agent image: one image per agent, built from the repo root.
#   docker build --build-arg AGENT=knowledge-qna -t ghcr.io/agent-rollouts/knowledge-qna .
# No secrets are baked in: the JWT secret and the LLM key arrive at run time as mounted files or env
# (AGENT_JWT_SECRET_FILE, AGENT_LLM_API_KEY[_FILE]). Runs as a non-root numeric user, so Kubernetes'
# runAsNonRoot can verify it, and works on a read-only root filesystem.

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
# Only what `agent-rollouts agent` needs: the kernel, the agent runtime and the CLI that starts it
# (its other commands import their libraries lazily and are not installed here).
COPY pyproject.toml README.md ./
COPY kernel kernel
COPY agents agents
COPY agent_rollouts agent_rollouts
# Kubernetes' JSON schemas (~100 MB) serve `validate`, which never runs in this image.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/venv/bin/pip install --no-cache-dir . \
 && /opt/venv/bin/pip uninstall --yes --quiet kubernetes-validate

FROM python:3.11-slim-bookworm
ARG AGENT=knowledge-qna
ENV AGENT_NAME=${AGENT} \
    PATH=/opt/venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin agent
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
# Extra arguments (e.g. `--variant slow`) are appended; Kubernetes manifests set command/args themselves.
ENTRYPOINT ["/bin/sh", "-c", "exec agent-rollouts agent \"$AGENT_NAME\" --host 0.0.0.0 --port 8080 \"$@\"", "--"]
