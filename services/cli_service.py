"""``lawlink service credential <name>``: the bearer credential a non-Lawlink caller of the
services' APIs presents, such as Prometheus scraping ``/metrics`` (deploy/prometheus).

Printed from ``LAWLINK_SERVICE_TOKEN`` so the token itself never has to be given to that caller:
the credential names one service and can be told apart in the audit and the logs.
"""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Credentials for callers of the services' APIs (Prometheus).", no_args_is_help=True)


@app.command()
def credential(
    name: Annotated[
        str, typer.Argument(help="The caller's name, e.g. prometheus (lower-case, digits, '-').")
    ],
) -> None:
    """Print ``<name>.<mac>``, the value of ``Authorization: Bearer``, for a file Prometheus reads."""
    from services.env_file import load_dev_env
    from services.service_auth import TOKEN_VAR
    from services.service_auth import credential as make
    from services.settings import StackSettings

    load_dev_env()
    token = StackSettings().service_token
    if not token:
        typer.echo(f"error: {TOKEN_VAR} is not set (`make run` writes it to .lawlink/secrets.env)", err=True)
        raise typer.Exit(2)
    try:
        typer.echo(make(token, name))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
