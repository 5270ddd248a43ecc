"""The `tdbuddy` command line: one entry point that starts any tier or runs an operator task.

Each command lives in the tier that owns it and is imported only when it runs, so `core`
depends on no tier and starting one tier loads nothing of the others.
"""

from __future__ import annotations

import argparse
import datetime as dt
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
    "users": ("storage.commands:run_users", "create and list users, move one to a plan"),
    "keys": ("storage.commands:run_keys", "create, list and revoke a user's API keys"),
    "plans": ("storage.commands:run_plans", "list plans, create one or change its limits"),
    "stats": ("storage.commands:run_stats", "roll up the daily usage statistics"),
    "generate": ("generators.commands:run_generate", "write a dataset file, no service needed"),
    "preview": ("generators.commands:run_preview", "print a spec's first rows as a table"),
    "backup": ("schedules.backups:run_backup_command", "back the database up into storage now"),
    "backups": ("schedules.backups:run_backups_command", "list the backups in storage"),
    "restore": ("schedules.restore:run_restore", "make the database what a backup holds"),
    "submit": ("api.client:run_submit", "submit a spec to the service; --wait downloads the file"),
    "jobs": ("api.client:run_jobs", "list your jobs on the service, newest first"),
    "cancel": ("api.client:run_cancel", "cancel a queued or running job on the service"),
}

CLIENT_EPILOG = """\
The service is found by TDBUDDY_URL (default http://127.0.0.1:8000, where `tdbuddy dev`
serves) and the key by TDBUDDY_API_KEY; --url and --api-key override them.

exit codes: 0 done; 1 the API refused or could not be reached, or the download failed;
2 a spec, argument or setting to fix (the API's 400/422, naming the field); 3 the job failed;
4 the job was cancelled or expired; 130 interrupted (Ctrl-C; the job keeps running)."""


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
        help="only these queues (default all: BROKER_QUEUE, BROKER_QUEUE-deliveries and "
        "BROKER_QUEUE-periodic)",
    )
    users = sub.choices["users"]
    users_sub = users.add_subparsers(dest="users_command", required=True)
    create = users_sub.add_parser("create", help="create a user (if new) and print a new API key")
    create.add_argument("name")
    create.add_argument("--email")
    create.add_argument("--plan", help="the user's plan (new users: free)")
    users_sub.add_parser("list", help="every user with plan and number of live keys")
    set_plan = users_sub.add_parser("set-plan", help="move a user to another plan")
    set_plan.add_argument("name")
    set_plan.add_argument("plan")
    set_admin = users_sub.add_parser(
        "set-admin", help="let a user read the whole service's statistics (GET /v1/admin/stats)"
    )
    set_admin.add_argument("name")
    set_admin.add_argument("--off", action="store_true", help="take the right away instead")
    keys = sub.choices["keys"]
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_sub.add_parser("create", help="print a new API key for a user").add_argument("user")
    keys_sub.add_parser("list", help="a user's keys, by prefix").add_argument("user")
    keys_sub.add_parser("revoke", help="revoke a key at once").add_argument(
        "key", help="the key's id or prefix"
    )
    plans = sub.choices["plans"]
    plans_sub = plans.add_subparsers(dest="plans_command", required=True)
    plans_sub.add_parser("list", help="every plan and its limits")
    plan_set = plans_sub.add_parser(
        "set", help="create a plan or change its limits (limits not given stay as they are)"
    )
    plan_set.add_argument("name")
    for limit, meaning in (
        ("rows_per_job", "rows in one job"),
        ("jobs_per_day", "jobs accepted per UTC day"),
        ("running_jobs", "jobs queued or running at once"),
        ("bytes_stored", "bytes of live files"),
        ("link_seconds", "how long a file and its links live (at most LINK_TTL_SECONDS)"),
        ("assistant_tokens_per_month", "Claude's tokens for the schema assistant per month"),
    ):
        plan_set.add_argument(
            f"--{limit.replace('_', '-')}", dest=limit, metavar="N|none", help=meaning
        )
    stats = sub.choices["stats"]
    stats_sub = stats.add_subparsers(dest="stats_command", required=True)
    roll_up = stats_sub.add_parser(
        "roll-up",
        help="roll up one UTC day again, or (without --day) every ended day not rolled up yet",
    )
    roll_up.add_argument("--day", type=_iso_day, metavar="YYYY-MM-DD")
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
    backups = sub.choices["backups"]
    backups_sub = backups.add_subparsers(dest="backups_command", required=True)
    backups_sub.add_parser("list", help="every backup, oldest first, complete or not")
    restore = sub.choices["restore"]
    restore.add_argument("backup", help="the backup's name, its UTC time: 20261129T020000Z")
    restore.add_argument(
        "--yes", action="store_true", help="replace what the database holds (it is dropped)"
    )
    restore.add_argument("--database-url", help="restore into this database (default DATABASE_URL)")
    _add_client_arguments(sub)
    return parser


def _add_client_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`submit`, `jobs` and `cancel`: the client of a running service (api/client.py)."""
    for name in ("submit", "jobs", "cancel"):
        command = sub.choices[name]
        command.epilog = CLIENT_EPILOG
        command.formatter_class = argparse.RawDescriptionHelpFormatter
        command.add_argument("--url", help="the API's base URL (default TDBUDDY_URL)")
        command.add_argument(
            "--api-key",
            help="the API key (default TDBUDDY_API_KEY; prefer the variable, since a flag "
            "shows in ps and shell history)",
        )
    submit = sub.choices["submit"]
    submit.add_argument("spec", help="dataset spec, a JSON file")
    submit.add_argument("--rows", type=int, help="row count (overrides the spec)")
    submit.add_argument("--format", help="file format, e.g. csv (overrides the spec)")
    submit.add_argument("--seed", type=int, help="random seed (overrides the spec)")
    submit.add_argument("--locale", help="locale, e.g. ja_JP (overrides the spec)")
    submit.add_argument(
        "--wait", action="store_true", help="show progress until the job ends, then download"
    )
    submit.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to save the file (a folder, or '-': stdout; default: the file's own name "
        "in the current folder); implies --wait",
    )
    jobs = sub.choices["jobs"]
    jobs.add_argument("--limit", type=int, default=20, help="jobs to show (default 20)")
    sub.choices["cancel"].add_argument("id", help="the job's id")


def _iso_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-28") from None


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
