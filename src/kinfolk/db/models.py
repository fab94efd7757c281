"""Imports every model module so that `Base.metadata` is complete (Alembic, tests)."""

from kinfolk.db.base import Base
from kinfolk.domain.accounts import models as _accounts
from kinfolk.domain.cards import models as _cards
from kinfolk.domain.collections import models as _collections
from kinfolk.domain.emojis import models as _emojis
from kinfolk.domain.filters import models as _filters
from kinfolk.domain.instance import models as _instance
from kinfolk.domain.media import models as _media
from kinfolk.domain.moderation import models as _moderation
from kinfolk.domain.notifications import models as _notifications
from kinfolk.domain.oauth import models as _oauth
from kinfolk.domain.polls import models as _polls
from kinfolk.domain.relationships import models as _relationships
from kinfolk.domain.statuses import models as _statuses
from kinfolk.domain.suggestions import models as _suggestions
from kinfolk.domain.tags import models as _tags
from kinfolk.domain.timelines import models as _timelines
from kinfolk.domain.trends import models as _trends
from kinfolk.federation import models as _federation
from kinfolk.jobs import models as _jobs

__all__ = ["Base"]
_ = (
    _accounts,
    _cards,
    _collections,
    _emojis,
    _filters,
    _instance,
    _media,
    _moderation,
    _notifications,
    _oauth,
    _polls,
    _relationships,
    _statuses,
    _tags,
    _timelines,
    _jobs,
    _suggestions,
    _trends,
    _federation,
)
