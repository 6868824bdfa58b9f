"""The ``crm`` command: serve, migrate, seed, users, orgs, import and export."""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from app import cli_orgs
from app.backtest_table import backtest_table
from auth import passwords
from core import database, logs, tracing
from core.config import Settings, get_settings
from db.enums import Role
from services.csv.rows import CsvError

console = Console(stderr=True)
DEMO_ORG = "Demo Company"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"  # noqa: S105 (printed on purpose: it only exists in demo data)
DEMO_CUSTOMERS = 1_000
# the demo's orders: enough over its two years for every kind of prediction to beat its
# baselines (with 3 per customer the purchase models could not beat "as many as last period"
# and the demo had no expected revenue)
DEMO_ORDERS_PER_CUSTOMER = 6


def progress_bar() -> Progress:
    """A progress bar for long work, on stderr."""
    return Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=console,
    )


async def _with_db(url: str, settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    await database.connect(url, settings)
    try:
        return await work()
    finally:
        await database.disconnect()


def _url(settings: Settings) -> str:
    def announce(line: str) -> None:
        # the embedded server's start and stop in the same format as the other log lines
        if logs.resolve(settings.log_format) == "json":
            logging.getLogger("crm.database").info(line)
        else:
            console.print(f"[dim]{line}[/dim]", soft_wrap=True)

    return database.resolve_database_url(settings, announce=announce)


def _port_taken(host: str, port: int) -> bool:
    """Whether another process listens on ``host:port`` (uvicorn would fail after startup)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


# --- commands ---------------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(database.migrate(_url(settings), settings))
    console.print("[green]Migrations applied.[/green]")
    return 0


async def _create_user(
    org_name: str, email: str, password: str, role: Role, name: str = "",
    org_settings: dict[str, str] | None = None,
) -> tuple[Any, Any]:
    from auth.identity import hash_password
    from db import user as users

    organization, _ = await users.get_or_create_organization(org_name, org_settings)
    user = await users.create(
        organization=organization, email=email, password_hash=hash_password(password),
        role=role, name=name,
    )
    return organization, user


def cmd_users_create(args: argparse.Namespace, settings: Settings) -> int:
    from db import validation

    try:
        email = validation.email(args.email)
    except ValueError as exc:
        console.print(f"[red]--email {exc}[/red]")
        return 2
    problem = passwords.problem(args.password)
    if problem:
        console.print(f"[red]--password {problem}[/red]")
        return 2
    org_settings = cli_orgs.settings_of(args)
    if isinstance(org_settings, str):
        console.print(f"[red]{org_settings}[/red]")
        return 2
    url = _url(settings)
    from tortoise.exceptions import IntegrityError

    try:
        org, user = asyncio.run(_with_db(url, settings, lambda: _create_user(
            args.org, email, args.password, Role(args.role), args.name or "", org_settings)))
    except IntegrityError:
        console.print(f"[red]A user with email {email} already exists.[/red]")
        return 1
    console.print(f"Created {user.role.value} {user.email} in organization {org.slug!r}.")
    return 0


async def _seed(url: str, settings: Settings, org_name: str, plan: Any) -> None:
    from app.seed import seed
    from db import user as users
    from db.models import User

    organization, _ = await users.get_or_create_organization(org_name)
    owner_ids = [u.id for u in await User.filter(organization=organization).only("id")]
    with progress_bar() as bar:
        task = bar.add_task(f"Seeding {organization.slug}", total=plan.customers)
        await seed(url, organization.id, plan, owner_ids, lambda n: bar.advance(task, n))


def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    from app.seed import SeedPlan

    plan = SeedPlan(
        customers=args.customers, orders_per_customer=args.orders_per_customer,
        interactions_per_customer=args.interactions_per_customer, seed=args.seed,
    )
    url = _url(settings)
    asyncio.run(database.migrate(url, settings))
    asyncio.run(_with_db(url, settings, lambda: _seed(url, settings, args.org, plan)))
    console.print(f"[green]Seeded {plan.customers} customers into {args.org!r}.[/green]")
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from services.csv import transfer as csv_io

    url = _url(settings)
    path = Path(args.file)
    if not path.is_file():
        console.print(f"[red]{path} is not a file[/red]")
        return 2

    size = path.stat().st_size

    async def work() -> Any:
        with progress_bar() as bar:
            task = bar.add_task(f"Importing {args.kind}", total=size)
            return await csv_io.import_csv(
                args.kind, path, args.org, progress=lambda n: bar.update(task, completed=n)
            )

    try:
        report = asyncio.run(_with_db(url, settings, work))
    except CsvError as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    console.print(report.summary())
    for rejected in report.rejected[:100]:
        console.print(f"  line {rejected.line}: {rejected.reason}")
    if len(report.rejected) > 100:
        console.print(f"  ... and {len(report.rejected) - 100} more")
    return 1 if report.rejected else 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from services.csv import transfer as csv_io

    url = _url(settings)

    async def work() -> int:
        if args.output == "-":
            return int(await csv_io.export_csv(args.kind, args.org, sys.stdout))
        # a local file; writes are buffered and small next to the database round trips
        with open(args.output, "w", newline="", encoding="utf-8") as out:  # noqa: ASYNC230
            return int(await csv_io.export_csv(args.kind, args.org, out))

    try:
        rows = int(asyncio.run(_with_db(url, settings, work)))
    except CsvError as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    console.print(f"Exported {rows} {args.kind}.")
    return 0


async def _ensure_demo(url: str, settings: Settings) -> None:
    """Load demo data into an empty database (resuming if an earlier attempt was cut short)."""
    from app.seed import SeedPlan
    from db import user as users
    from db.models import Customer, Organization, User

    demo = await users.get_organization(DEMO_ORG)
    if demo is None:
        if await Organization.exists():
            return  # a database with real organizations gets no demo data
        await _create_user(DEMO_ORG, DEMO_EMAIL, DEMO_PASSWORD, Role.ADMIN, "Demo Admin")
    elif not await User.exists(email=DEMO_EMAIL):
        return
    if not await Customer.exists(organization__slug=users.slugify(DEMO_ORG)):
        await _seed(url, settings, DEMO_ORG, SeedPlan(
            customers=DEMO_CUSTOMERS, orders_per_customer=DEMO_ORDERS_PER_CUSTOMER))


def _use_dev_mailbox(settings: Settings) -> bool:
    """Point email at a local catcher when no SMTP server is configured (the embedded demo):
    the outbox worker runs in the server and what it sends is readable at /dev/mailbox."""
    if "smtp_host" in settings.model_fields_set or settings.dev_mailbox_port is not None:
        return settings.dev_mailbox_port is not None
    with socket.socket() as probe:  # a free port, shared by every server process
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    os.environ.update({
        "CRM_DEV_MAILBOX_PORT": str(port), "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
        "SMTP_TLS": "none", "CRM_EMAIL_WORKER_IN_PROCESS": "true",
    })
    return True


def _share_metrics(workers: int, settings: Settings) -> None:
    """Server processes add up their metrics in a folder of files (emptied at start)."""
    folder = settings.prometheus_multiproc_dir
    if folder is None:
        if workers == 1:
            return
        folder = settings.data_dir / "metrics"
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    if _port_taken(args.host, args.port):
        console.print(f"[red]Port {args.port} on {args.host} is already in use (another crm "
                      f"serve?). Choose another with --port, e.g. --port {args.port + 1}.[/red]",
                      soft_wrap=True)
        return 1
    url = _url(settings)
    asyncio.run(database.migrate(url, settings))
    embedded = not settings.database_url
    if embedded and args.demo:
        asyncio.run(_with_db(url, settings, lambda: _ensure_demo(url, settings)))
    # worker processes read the same settings from the environment
    os.environ["DATABASE_URL"] = url
    mailbox = embedded and args.demo and _use_dev_mailbox(settings)
    _share_metrics(args.workers, settings)
    get_settings.cache_clear()
    scheme = "https" if args.ssl_certfile else "http"
    base = f"{scheme}://{args.host}:{args.port}"
    console.print(f"GraphiQL: [bold]{base}/graphql[/bold]")
    console.print(f"Console: [bold]{base}/console[/bold]")
    if embedded and args.demo:
        console.print(f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}")
        os.environ.setdefault("CRM_GRAPHIQL_LOGIN", f"{DEMO_EMAIL} {DEMO_PASSWORD}")
    if mailbox:
        console.print(f"Email the demo sends: [bold]{base}/dev/mailbox[/bold]")
    # uvicorn re-raises SIGTERM after its graceful shutdown; as SystemExit it lets the embedded
    # PostgreSQL be stopped by this process's exit handlers instead of killing the process
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(
        "app.main:create_app", factory=True, host=args.host, port=args.port,
        workers=args.workers, log_level=settings.log_level.lower(), proxy_headers=True,
        log_config=logs.uvicorn_config(settings.log_level, settings.log_format),
        access_log=False,  # app.main logs requests without query strings (they hold variables)
        ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile,
        loop="uvloop" if sys.platform != "win32" else "auto",
        # SIGTERM: stop accepting, close websockets with 1012 (service restart), let requests
        # in flight finish within the deadline, then stop the background services
        timeout_graceful_shutdown=math.ceil(settings.shutdown_timeout_seconds),
    )
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from services.email import outbox
    from services.messaging import outbox as channel_outbox
    from services.webhooks import delivery as webhook_delivery

    if args.concurrency is not None:
        settings = settings.model_copy(update={"email_worker_concurrency": args.concurrency})
    url = _url(settings)
    asyncio.run(database.migrate(url, settings))

    def work() -> Awaitable[int]:
        running = outbox.run_worker(settings, url, args.org or [])
        if args.channels:
            running = channel_outbox.alongside(settings, url, args.org or [], running)
        if args.webhooks:
            running = webhook_delivery.alongside(settings, url, running)
        return running

    code: int = asyncio.run(_with_db(url, settings, work))
    return code


def _as_of(text: str) -> datetime:
    """``YYYY-MM-DD`` (the end of that day, UTC) or an ISO datetime (UTC if no offset)."""
    from datetime import UTC, timedelta

    if len(text) == 10:
        return datetime.fromisoformat(text).replace(tzinfo=UTC) + timedelta(days=1)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from db import user as users
    from ml.jobs import train_and_follow

    url = _url(settings)
    horizon = args.horizon_days or settings.ml_horizon_days

    async def work() -> dict[str, Any] | None:
        organization = await users.get_organization(args.org)
        if organization is None:
            return None
        with progress_bar() as bar:
            task = bar.add_task("Training", total=100)
            return await train_and_follow(
                url, settings, org_id=organization.id, as_of=args.as_of, horizon_days=horizon,
                progress=lambda done, stage: bar.update(
                    task, completed=round(done * 100), description=f"Training: {stage}"
                ),
            )

    run = asyncio.run(_with_db(url, settings, work))
    if run is None:
        console.print(f"[red]No organization {args.org!r}.[/red]")
        return 2
    for result in run["results"]:
        version = f" v{result['version']}" if result.get("version") else ""
        kind = result["kind"] + (f" {result['prediction']}" if result.get("prediction") else "")
        console.print(f"{kind:<9} {result['status']:<16}{version} {result['message']}")
    if run["backtest"] and run["status"] == "SUCCEEDED":
        console.print(backtest_table(run))
    if run["status"] != "SUCCEEDED":
        console.print(f"[red]Training failed: {run['error']}[/red]")
        return 1
    return 0


# --- parser -----------------------------------------------------------------------------


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except for flags and options without one."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or isinstance(action.const, bool):
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="crm", description="GraphQL customer relationship API.",
        epilog="Without DATABASE_URL an embedded PostgreSQL is started in CRM_DATA_DIR (.crm).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the API server (migrates first)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument("--workers", type=int, default=1, help="server processes")
    serve.add_argument("--no-demo", dest="demo", action="store_false",
                       help="do not load demo data into an empty embedded database")
    serve.add_argument("--ssl-certfile", help="serve HTTPS with this certificate")
    serve.add_argument("--ssl-keyfile", help="the certificate's private key")
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(func=cmd_migrate)

    worker = sub.add_parser(
        "worker", help="send queued email, campaigns, SMS/WhatsApp/call/chat messages and"
        " webhooks (run any number)"
    )
    worker.add_argument("--org", action="append", metavar="SLUG",
                        help="only this organization's email and messages (repeatable)")
    worker.add_argument("--concurrency", type=int, choices=range(1, 65), metavar="N",
                        help="SMTP connections (default: CRM_EMAIL_WORKER_CONCURRENCY)")
    worker.add_argument("--no-webhooks", dest="webhooks", action="store_false",
                        help="do not deliver webhooks (they are delivered by default)")
    worker.add_argument("--no-channels", dest="channels", action="store_false",
                        help="do not send SMS, WhatsApp, call, chat and social messages")
    worker.set_defaults(func=cmd_worker)

    train = sub.add_parser("train", help="train and activate the prediction models, then score")
    train.add_argument("--org", required=True, help="organization name or slug")
    train.add_argument("--as-of", type=_as_of, metavar="DATE",
                       help="backtest: learn only from what was known then and score as of then"
                            " (YYYY-MM-DD means the end of that day, UTC)")
    train.add_argument("--horizon-days", type=int, choices=range(7, 731), metavar="N",
                       help="prediction horizon (default: CRM_ML_HORIZON_DAYS, 90)")
    train.set_defaults(func=cmd_train)

    seed = sub.add_parser("seed", help="add realistic fake customers, orders and interactions")
    seed.add_argument("--org", default=DEMO_ORG, help="organization name or slug")
    seed.add_argument("--customers", type=int, default=10_000, help="customers to add")
    seed.add_argument("--orders-per-customer", type=int, default=3, help="on average")
    seed.add_argument("--interactions-per-customer", type=int, default=20, help="on average")
    seed.add_argument("--seed", type=int, default=42, help="random seed (same seed, same data)")
    seed.set_defaults(func=cmd_seed)

    users = sub.add_parser("users", help="manage users").add_subparsers(
        dest="users_command", required=True, metavar="ACTION")
    create = users.add_parser("create", help="create a user (and the organization if new)")
    create.add_argument("--org", required=True, help="organization name or slug")
    create.add_argument("--email", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.AGENT.value)
    create.add_argument("--name")
    cli_orgs.add_setting_options(create)  # for a new organization
    create.set_defaults(func=cmd_users_create)
    cli_orgs.add_commands(sub)

    for name, func, text in (
        ("import", cmd_import, "import a CSV file (idempotent: matched on external_ref, sku, or a"
                   " company's domain or name)"),
        ("export", cmd_export, "export as CSV in the import format"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument(
            "kind", choices=["customers", "orders", "products", "companies", "deals", "rates"])
        if name == "import":
            command.add_argument("file", help="CSV with a header row of snake_case fields")
        else:
            command.add_argument("--output", "-o", default="-", help="file (default: stdout)")
        command.add_argument("--org", required=True, help="organization name or slug")
        command.set_defaults(func=func)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``crm`` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as exc:  # say what to set, without a traceback
        for error in exc.errors():
            message = str(error['msg']).removeprefix('Value error, ')
            console.print(f"[red]Cannot start: {message}[/red]", soft_wrap=True)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    tracing.configure(settings)
    code: int = args.func(args, settings)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
