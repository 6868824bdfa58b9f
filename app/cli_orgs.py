"""``crm orgs``: create an organization with its currency, time zone and locale, or change them
(the API's ``updateOrganization`` does the same for an ADMIN)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from rich.console import Console

from core import database
from core.config import Settings
from db import org_settings

console = Console(stderr=True)


def settings_of(args: argparse.Namespace) -> dict[str, str] | str:
    """The validated settings given on the command line, or what is wrong with them."""
    checks = {"currency": org_settings.currency, "time_zone": org_settings.time_zone,
              "locale": org_settings.locale}
    values: dict[str, str] = {}
    for key, check in checks.items():
        given = getattr(args, key, None)
        if given is None:
            continue
        try:
            values[key] = check(given)
        except ValueError as exc:
            return f"--{key.replace('_', '-')} {exc}"
    return values


async def _run(settings: Settings, work: Any) -> Any:
    url = database.resolve_database_url(settings, announce=lambda line: None)
    await database.connect(url, settings)
    try:
        return await work()
    finally:
        await database.disconnect()


async def _zone_known(values: dict[str, str]) -> bool:
    from db import team

    return "time_zone" not in values or await team.time_zone_known(values["time_zone"])


def cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    from db import user as users

    values = settings_of(args)
    if isinstance(values, str):
        console.print(f"[red]{values}[/red]")
        return 2

    async def work() -> tuple[Any, bool] | None:
        if not await _zone_known(values):
            return None
        return await users.get_or_create_organization(args.name, values)

    found = asyncio.run(_run(settings, work))
    if found is None:
        console.print("[red]--time-zone is not known to the database's time zone data[/red]")
        return 2
    org, created = found
    if not created:
        console.print(f"[red]Organization {org.slug!r} already exists (crm orgs update).[/red]")
        return 1
    console.print(f"Created organization {org.slug!r} ({org.currency}, {org.time_zone},"
                  f" {org.locale}).")
    return 0


def cmd_update(args: argparse.Namespace, settings: Settings) -> int:
    from db import team
    from db import user as users

    values = settings_of(args)
    if isinstance(values, str):
        console.print(f"[red]{values}[/red]")
        return 2
    if args.new_name is not None:
        values["name"] = args.new_name.strip()[:200]

    async def work() -> dict[str, Any] | None:
        if not await _zone_known(values):
            console.print("[red]--time-zone is not known to the database's time zone data[/red]")
            return None
        org = await users.get_organization(args.org)
        return None if org is None else await team.update_organization(
            org_id=org.id, values=values)

    row = asyncio.run(_run(settings, work))
    if row is None:
        console.print(f"[red]No organization {args.org!r}.[/red]")
        return 2
    console.print(f"{row['slug']}: {row['name']}, {row['currency']}, {row['time_zone']},"
                  f" {row['locale']}")
    return 0


def add_setting_options(parser: argparse.ArgumentParser) -> None:
    """--currency, --time-zone and --locale (validated as the API validates them)."""
    parser.add_argument("--currency", help="ISO 4217 code (default for a new one: USD)")
    parser.add_argument("--time-zone", dest="time_zone",
                        help="IANA time zone, e.g. Europe/Berlin (default: UTC)")
    parser.add_argument("--locale", help="BCP 47 language tag, e.g. de-DE (default: en-US)")


def add_commands(sub: Any) -> None:
    """Register ``crm orgs create`` and ``crm orgs update``."""
    orgs = sub.add_parser("orgs", help="manage organizations").add_subparsers(
        dest="orgs_command", required=True, metavar="ACTION")
    create = orgs.add_parser("create", help="create an organization")
    create.add_argument("name", help="the organization's name (its slug is made from it)")
    add_setting_options(create)
    create.set_defaults(func=cmd_create)
    update = orgs.add_parser("update", help="change an organization's name or settings")
    update.add_argument("org", help="organization name or slug")
    update.add_argument("--name", dest="new_name", help="a new display name")
    add_setting_options(update)
    update.set_defaults(func=cmd_update)
