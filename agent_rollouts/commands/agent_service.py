"""`agent-rollouts agent NAME --port P --variant V`: run one agent service."""

import argparse

from agent_rollouts.console import Console
from agent_rollouts.exit_codes import ExitStatus
from agents.providers.local import VARIANTS
from kernel.catalog import AGENTS


def run_agent(args: argparse.Namespace, env: Console) -> int:
    """Serve one agent until interrupted."""
    import uvicorn
    from prometheus_client import CollectorRegistry
    from pydantic import ValidationError

    from agents.logs import configure_logging
    from agents.service import create_app
    from agents.settings import AgentSettings
    from kernel.web import uvicorn_proxy_options

    try:
        flags = {"variant": args.variant, "seed": args.seed}  # a flag beats AGENT_VARIANT / AGENT_SEED
        settings = AgentSettings(**{name: value for name, value in flags.items() if value is not None})
        app = create_app(args.name, settings, CollectorRegistry(), settings.build_provider())
    except ValidationError as exc:
        env.error(
            "; ".join(f"AGENT_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        )
        return ExitStatus.ERROR
    configure_logging(env.stdout)
    proxies = uvicorn_proxy_options(settings.trusted_proxies)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False, **proxies)
    return ExitStatus.SUCCESS


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser(
        "agent",
        help="run one agent service",
        description="Run one agent's HTTP service. JWT secret: AGENT_JWT_SECRET or AGENT_JWT_SECRET_FILE.",
    )
    parser.add_argument("name", choices=AGENTS, help="the agent to serve")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--variant",
        choices=tuple(VARIANTS),
        help="local provider behaviour (default AGENT_VARIANT, else baseline)",
    )
    parser.add_argument("--seed", type=int, help="seed of the local provider (default AGENT_SEED, else 0)")
    parser.set_defaults(handler=run_agent)
