"""Imports every module that defines read-model tables, so Alembic sees them all.

Features that add tables (dispute inbox, console users, notifications ...) add their module here.
"""

from services.delegations import read_model as delegation_tables  # noqa: F401
from services.discipline import content as referral_content_tables  # noqa: F401
from services.disputes import inbox as dispute_inbox  # noqa: F401
from services.readmodel import accounts as console_tables  # noqa: F401
from services.readmodel import models  # noqa: F401
from services.readmodel import notifications as notifier_tables  # noqa: F401
from services.statistics import aggregate as statistics_counts  # noqa: F401
