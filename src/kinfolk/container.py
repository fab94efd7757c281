"""The objects a process shares: settings, the database, storage. Chosen once at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kinfolk.config import Settings
from kinfolk.db.database import Database
from kinfolk.infra.storage import LocalStorage, Storage


@dataclass
class Container:
    settings: Settings
    db: Database
    storage: Storage
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, *, pool_size: int = 10) -> Container:
        settings.ensure_secret_key()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url, pool_size=pool_size)
        storage = LocalStorage(settings.media_dir, base_url=f"{settings.base_url}/media")
        return cls(settings=settings, db=db, storage=storage)

    async def close(self) -> None:
        await self.db.dispose()
