"""The `tdbuddy` command line: one entry point that starts any tier or runs an operator task.

Each command lives in the tier that owns it and is imported only when it runs, so `core`
depends on no tier and starting one tier loads nothing of the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

# command → "module:function"; the function takes the parsed arguments and returns an exit code.
COMMANDS: dict[str, tuple[str, str]] = {
    "dev": ("api.dev:run_dev", "run API, worker and scheduler on embedded defaults"),
    "api": ("api.serve:run_api", "serve the HTTP API"),
    "worker": ("workers.serve:run_worker", "run a worker process pool"),
    "scheduler": ("schedules.scheduler:run_scheduler", "run the scheduler (one per deployment)"),
    "migrate": ("storage.commands:run_migrate", "apply database migrations"),
    "users": ("storage.commands:run_users", "create users and API keys"),
    "generate": ("generators.commands:run_generate", "write a dataset file, no service needed"),
    "preview": ("generators.commands:run_preview", "print a spec's first rows as a table"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tdbuddy", description="TestData Buddy")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text)
    dev = sub.choices["dev"]
    dev.add_argument("--home", help="folder for embedded data (default ~/.tdbuddy)")
    dev.add_argument("--port", type=int, default=None, help="API port (default 8000)")
    api = sub.choices["api"]
    api.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    worker = sub.choices["worker"]
    worker.add_argument("--processes", type=int, default=1)
    worker.add_argument("--threads", type=int, default=None)
    worker.add_argument(
        "--queues",
        nargs="+",
        help="only these queues (default all: BROKER_QUEUE and BROKER_QUEUE-deliveries)",
    )
    users = sub.choices["users"]
    users_sub = users.add_subparsers(dest="users_command", required=True)
    create = users_sub.add_parser("create", help="create a user (if new) and print a new API key")
    create.add_argument("name")
    create.add_argument("--email")
    generate = sub.choices["generate"]
    generate.add_argument("spec", help="dataset spec, a JSON file")
    generate.add_argument("-o", "--output", required=True, help="file to write ('-': stdout)")
    generate.add_argument("--rows", type=int, help="row count (overrides the spec)")
    generate.add_argument("--format", help="file format, e.g. csv (overrides the spec)")
    generate.add_argument("--seed", type=int, help="random seed (overrides the spec)")
    generate.add_argument(
        "--edge-cases", metavar="FILE", help="also list every injected edge case (JSON Lines)"
    )
    preview = sub.choices["preview"]
    preview.add_argument("spec", help="dataset spec, a JSON file")
    preview.add_argument("--rows", type=int, default=10, help="rows to show (default 10)")
    preview.add_argument("--seed", type=int, help="random seed (overrides the spec)")
    return parser


def _load(target: str) -> Callable[[argparse.Namespace], int]:
    module_name, _, function_name = target.partition(":")
    function: Callable[[argparse.Namespace], int] = getattr(
        importlib.import_module(module_name), function_name
    )
    return function


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return _load(COMMANDS[args.command][0])(args)


if __name__ == "__main__":
    sys.exit(main())
