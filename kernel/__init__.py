"""The ground floor every other package stands on; it imports nothing of the project.

The metric contract (`contract`), the catalog of agents and environments (`catalog`), typed errors
(`errors`), secrets from env or mounted files (`secrets`), the token bucket (`ratelimit`), the shared
HTTP service convention (`web`) and where pinned external tools live (`toolpaths`).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("agent-rollouts")
except PackageNotFoundError:  # a checkout used without `pip install`
    __version__ = "0.0.0+unknown"
