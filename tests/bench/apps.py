"""ASGI factories for the benchmark (``uvicorn --factory tests.bench.apps:read_only_registry``)."""

from __future__ import annotations

from fastapi import FastAPI

from services.registry.app import create_app


def read_only_registry() -> FastAPI:
    """The registry API on ``DATABASE_URL`` without consuming NATS: the read-model phase seeds
    its own tables and times the queries, so no projection may write meanwhile."""
    return create_app(consume=False)
