"""labelloop serve: the web app (REST API and browser UI) with uvicorn."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer
from rich.markup import escape

from ._common import app, err, out

LOOPBACK_NAMES = ("localhost",)


@app.command("serve")
def serve_cmd(
    host: Annotated[
        str, typer.Option(help="Address to listen on; loopback unless you mean to share it")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
) -> None:
    """Run the web app: the UI at http://HOST:PORT/, the API under /api/v1, docs at /docs."""
    import uvicorn

    from labelloop.api import create_app
    from labelloop.api.guards import LOOPBACK_HOSTS
    from labelloop.config import Settings

    settings = Settings.from_env()
    if not is_loopback(host):
        # The app has no accounts: whoever reaches the port can change and delete datasets.
        err.print(
            f"[bold yellow]warning:[/] listening on {host}: anyone who can reach this address "
            "can read and change your datasets (labelloop has no login; put it behind a proxy "
            "with authentication to share it)",
            highlight=False,
            markup=True,
        )
    shown = f"[{host}]" if ":" in host else host
    out.print(
        f"labelloop is serving {escape(str(settings.home))} at "
        f"[bold]{escape(f'http://{shown}:{port}/')}[/]",
        markup=True,
    )
    # On loopback the app answers only to loopback names, which stops DNS rebinding (guards.py).
    allowed = [*LOOPBACK_HOSTS, host] if is_loopback(host) else None
    uvicorn.run(
        create_app(settings, allowed_hosts=allowed), host=host, port=port, log_level="warning"
    )


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
