"""The locale of one request, for its error messages, chosen as Mastodon does: the `lang`
parameter, else the signed-in user's locale, else the Accept-Language header, else English.

The error renderer may run after the request body was consumed and outside the unit of work
that looked up the token, so what it needs is noted in the ASGI scope as soon as it is known:
`read_params` notes a `lang` sent in the body, the token lookup notes the user's locale.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from starlette.requests import Request

from kinfolk.i18n import DEFAULT_LOCALE, from_accept_language, negotiate

_LANG_KEY = "kinfolk.lang"
_USER_LOCALE_KEY = "kinfolk.user_locale"


def remember_lang(scope: MutableMapping[str, Any], value: Any) -> None:
    """The `lang` parameter, as read from the query and body together."""
    if isinstance(value, str) and value.strip():
        scope[_LANG_KEY] = value


def remember_user_locale(scope: MutableMapping[str, Any], locale: str | None) -> None:
    """The locale of the user whose token the request carries."""
    if locale:
        scope[_USER_LOCALE_KEY] = locale


def request_locale(request: Request) -> str:
    scope = request.scope
    # A body's `lang` (noted by read_params) wins over the query's, as Rails merges them.
    for candidate in (scope.get(_LANG_KEY), request.query_params.get("lang"), scope.get(_USER_LOCALE_KEY)):
        found = negotiate(candidate)
        if found is not None:
            return found
    return from_accept_language(request.headers.get("accept-language")) or DEFAULT_LOCALE
