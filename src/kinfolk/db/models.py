"""Imports every model module so that `Base.metadata` is complete (Alembic, tests)."""

from kinfolk.db.base import Base
from kinfolk.domain.accounts import models as _accounts
from kinfolk.domain.instance import models as _instance
from kinfolk.domain.oauth import models as _oauth
from kinfolk.jobs import models as _jobs

__all__ = ["Base"]
_ = (_accounts, _instance, _oauth, _jobs)
