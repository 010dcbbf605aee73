"""`agent-rollouts judge` and `agent-rollouts serve`."""

import argparse
import json
import os
from typing import TYPE_CHECKING

from agent_rollouts.console import Console
from agent_rollouts.exit_codes import ExitStatus
from kernel.contract import CHECK_NAMES
from kernel.errors import AgentRolloutsError

if TYPE_CHECKING:
    from pydantic import ValidationError

    from webhook.models import Judgement

EXIT_BY_VERDICT = {
    "pass": ExitStatus.SUCCESS,
    "fail": ExitStatus.VERDICT_FAIL,
    "inconclusive": ExitStatus.VERDICT_INCONCLUSIVE,
}


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"AGENT_ROLLOUTS_{name}", default)


def _tolerance(text: str) -> tuple[str, float]:
    check, sep, value = text.partition("=")
    if not sep or check not in CHECK_NAMES:
        raise argparse.ArgumentTypeError(
            f"expected CHECK=VALUE with CHECK one of {', '.join(CHECK_NAMES)}, got {text!r}"
        )
    try:
        return check, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"tolerance {value!r} is not a number") from None


def _describe_errors(exc: "ValidationError") -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in exc.errors())


def _print_human(judgement: "Judgement", env: Console) -> None:
    print(f"{judgement.verdict.upper()} (score {judgement.score}): {judgement.reason}", file=env.stdout)
    for name, check in judgement.checks.items():
        print(f"  {name:<10} {check.verdict:<12} {check.reason}", file=env.stdout)
    print(f"report: {judgement.report_url}", file=env.stdout)


def run_judge(args: argparse.Namespace, env: Console) -> int:
    """Judge a canary from a terminal; the exit status is the verdict."""
    from pydantic import ValidationError

    from webhook.app.core.config import JudgeSettings
    from webhook.backends import create_backend
    from webhook.judge import InputError, JudgeConfig, judge
    from webhook.models import JudgementRequest

    body: dict[str, object] = {"agent": args.agent, "canary": args.canary, "baseline": args.baseline}
    for key in ("namespace", "checks", "start", "end"):
        if getattr(args, key) is not None:
            body[key] = getattr(args, key)
    if args.tolerance:
        body["tolerances"] = dict(args.tolerance)
    try:
        request = JudgementRequest.model_validate(body)
        url = args.prometheus_url or JudgeSettings().prometheus_url
        backend = create_backend("prometheus", url, timeout=args.timeout, cache_ttl=0)
    except ValidationError as exc:
        env.error(_describe_errors(exc))
        return ExitStatus.USAGE
    except ValueError as exc:
        env.error(f"--prometheus-url: {exc}")
        return ExitStatus.USAGE
    try:
        config = JudgeConfig(report_base_url=args.public_url or "", deadline_seconds=args.deadline)
        judgement = judge(request, backend, config)
    except InputError as exc:
        env.error(f"{exc.field}: {exc}")
        return ExitStatus.USAGE
    if args.json:
        print(json.dumps(judgement.model_dump(mode="json")), file=env.stdout)
    else:
        _print_human(judgement, env)
    return EXIT_BY_VERDICT[judgement.verdict]


def run_serve(args: argparse.Namespace, env: Console) -> int:
    """Run the judge service until interrupted."""
    import uvicorn
    from pydantic import ValidationError

    from kernel.web import uvicorn_proxy_options
    from webhook.app.core.config import JudgeSettings
    from webhook.app.main import create_app

    overrides = {
        "prometheus_url": args.prometheus_url,
        "token_file": args.token_file,
        "host": args.host,
        "port": args.port,
    }
    given = {k: v for k, v in overrides.items() if v is not None}
    if args.token_file is not None:
        given["token"] = None  # an explicit --token-file wins over AGENT_ROLLOUTS_TOKEN
    try:
        settings = JudgeSettings(**given)
        app = create_app(settings)
    except ValidationError as exc:
        env.error(_describe_errors(exc))
        return ExitStatus.USAGE
    except (AgentRolloutsError, ValueError) as exc:  # no token, or an unknown backend
        env.error(str(exc))
        return ExitStatus.USAGE
    proxies = uvicorn_proxy_options(settings.trusted_proxies)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False, **proxies)
    return ExitStatus.SUCCESS


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    judge_cmd = subparsers.add_parser(
        "judge",
        help="judge a canary against its baseline from a terminal",
        description="Exit status: 0 pass, 3 fail, 4 inconclusive, 5 Prometheus unavailable, 2 bad input.",
    )
    judge_cmd.add_argument(
        "--prometheus-url",
        help="env AGENT_ROLLOUTS_PROMETHEUS_URL (default http://127.0.0.1:9090)",
    )
    judge_cmd.add_argument("--agent", required=True, help="the agent_name label")
    judge_cmd.add_argument("--canary", required=True, help="the canary's rollouts_pod_template_hash")
    judge_cmd.add_argument("--baseline", required=True, help="the baseline's rollouts_pod_template_hash")
    judge_cmd.add_argument("--namespace", default=None)
    judge_cmd.add_argument("--checks", nargs="+", choices=CHECK_NAMES, default=None, help="default: all")
    judge_cmd.add_argument(
        "--start", default=None, help="RFC 3339 or unix seconds; default: first canary sample"
    )
    judge_cmd.add_argument("--end", default=None, help="RFC 3339 or unix seconds; default: now")
    judge_cmd.add_argument(
        "--tolerance", action="append", type=_tolerance, metavar="CHECK=VALUE", help="override a tolerance"
    )
    judge_cmd.add_argument("--timeout", type=float, default=3.0, help="seconds per PromQL query")
    judge_cmd.add_argument(
        "--deadline", type=float, default=8.0, help="seconds for the whole judgement; past it, exit 5"
    )
    judge_cmd.add_argument("--public-url", default=_env("PUBLIC_URL"), help="base URL for report_url")
    judge_cmd.add_argument("--json", action="store_true", help="print exactly the API's response body")
    judge_cmd.set_defaults(handler=run_judge)

    serve = subparsers.add_parser("serve", help="run the canary judge service for Argo Rollouts")
    serve.add_argument("--prometheus-url", default=None, help="env AGENT_ROLLOUTS_PROMETHEUS_URL")
    serve.add_argument(
        "--token-file",
        default=None,
        help="env AGENT_ROLLOUTS_TOKEN_FILE (or AGENT_ROLLOUTS_TOKEN); given, it wins over both",
    )
    serve.add_argument("--host", default=None, help="env AGENT_ROLLOUTS_HOST (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="env AGENT_ROLLOUTS_PORT (default 8080)")
    serve.set_defaults(handler=run_serve)
