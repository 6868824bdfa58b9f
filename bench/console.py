"""Progress messages on stderr; the results go to stdout."""

from __future__ import annotations

from rich.console import Console

progress = Console(stderr=True)


def say(message: str) -> None:
    """A dim progress line on stderr."""
    progress.print(f"[dim]{message}[/dim]", highlight=False)
