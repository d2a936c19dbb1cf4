"""Imports every module that defines read-model tables, so Alembic sees them all.

Features that add tables (dispute inbox, console users, notifications ...) add their module here.
"""

from services.registry import models  # noqa: F401
