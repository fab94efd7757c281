"""Profile updates and registration in the domain layer, on a real database."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from kinfolk.container import Container
from kinfolk.domain.accounts import service
from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.accounts.registration import Registration, register
from kinfolk.domain.oauth.service import create_application
from kinfolk.kernel.errors import Forbidden, Unprocessable


async def test_prepare_checks_everything_before_touching_anything() -> None:
    with pytest.raises(Unprocessable) as caught:
        await service.prepare_profile_update(
            {"display_name": "fine", "note": "n" * 600}, avatar=b"<svg/>", header=b""
        )
    assert set(caught.value.details or {}) == {"note", "avatar", "header"}


async def test_apply_writes_files_and_reports_replaced_ones(container: Container, make_user: Any) -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (20, 20)).save(buffer, "PNG")
    alice = await make_user("alice")
    kwargs: dict[str, Any] = {"uris": container.uris, "local_domain": container.settings.domain}
    first = service.StoredFiles()
    prepared = await service.prepare_profile_update({}, avatar=buffer.getvalue())
    async with container.db.uow() as uow:
        account, _ = await service.apply_profile_update(
            uow.session, container.storage, alice.account_id, prepared, files=first, **kwargs
        )
        assert account.avatar_key == first.written[0]
    assert first.replaced == []
    second = service.StoredFiles()
    removal = await service.prepare_profile_update({}, avatar="remove")
    async with container.db.uow() as uow:
        account, _ = await service.apply_profile_update(
            uow.session, container.storage, alice.account_id, removal, files=second, **kwargs
        )
        assert account.avatar_key is None
    assert second.written == [] and second.replaced == first.written


async def test_verified_links_stay_verified_only_while_unchanged(
    container: Container, make_user: Any
) -> None:
    alice = await make_user("alice")
    async with container.db.uow() as uow:
        account = await uow.session.get(Account, alice.account_id)
        assert account is not None
        account.fields = [
            {
                "name": "Site",
                "value": "x",
                "source": "https://a.example",
                "verified_at": "2026-01-01T00:00:00.000Z",
            },
            {
                "name": "Blog",
                "value": "y",
                "source": "https://b.example",
                "verified_at": "2026-01-02T00:00:00.000Z",
            },
        ]
    fields = [{"name": "Site", "value": "https://a.example"}, {"name": "Blog", "value": "https://c.example"}]
    prepared = await service.prepare_profile_update({"fields_attributes": fields})
    async with container.db.uow() as uow:
        account, _ = await service.apply_profile_update(
            uow.session,
            container.storage,
            alice.account_id,
            prepared,
            uris=container.uris,
            local_domain=container.settings.domain,
            files=service.StoredFiles(),
        )
    assert [f["verified_at"] for f in account.fields] == ["2026-01-01T00:00:00.000Z", None]


async def test_bot_flag_sets_the_actor_type(container: Container, make_user: Any) -> None:
    alice = await make_user("alice")
    for flag, actor_type in ((True, "Service"), (False, "Person")):
        prepared = await service.prepare_profile_update({"bot": flag})
        async with container.db.uow() as uow:
            account, _ = await service.apply_profile_update(
                uow.session,
                container.storage,
                alice.account_id,
                prepared,
                uris=container.uris,
                local_domain=container.settings.domain,
                files=service.StoredFiles(),
            )
        assert (account.bot, account.actor_type) == (flag, actor_type)


async def test_registration_modes(container: Container) -> None:
    async with container.db.uow() as uow:
        app = await create_application(uow.session, name="app", scopes="read write")
    signup = Registration(username="zed", email="zed@example.com", password="long enough pw", agreement=True)
    with pytest.raises(Forbidden):
        async with container.db.uow() as uow:
            await register(
                uow.session, signup, mode="closed", application=app, scopes=["read"], uris=container.uris
            )
    async with container.db.uow() as uow:
        issued = await register(
            uow.session, signup, mode="approval", application=app, scopes=["read"], uris=container.uris
        )
        assert issued.refresh_token is None
        assert issued.row.scopes == "read"
    async with container.db.uow(write=False) as uow:
        users = list((await uow.session.execute(select(User))).scalars())
        assert [(u.approved, u.locale) for u in users] == [(False, "en")]
        assert (await uow.session.execute(select(func.count()).select_from(Account))).scalar_one() == 1
