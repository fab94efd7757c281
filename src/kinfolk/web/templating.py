"""Jinja2 pages with the headers every HTML response of ours carries.

Pages are self-contained: inline CSS (allowed by a per-response nonce), no external assets, no
framing, and a form-action list naming exactly where forms may send the browser.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse, Response

_env = Environment(
    loader=PackageLoader("kinfolk.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

NO_STORE = "no-store"


def security_headers(nonce: str, *, form_action: Iterable[str] = (), script: bool = False) -> dict[str, str]:
    sources = " ".join(["'self'", *form_action])
    policy = [
        "default-src 'none'",
        f"style-src 'nonce-{nonce}'",
        "img-src 'self' data:",
        f"form-action {sources}",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
    if script:
        policy.append(f"script-src 'nonce-{nonce}'")
    return {
        "Content-Security-Policy": "; ".join(policy),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": NO_STORE,
    }


def render_page(
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    form_action: Iterable[str] = (),
    script: bool = False,
) -> Response:
    nonce = secrets.token_urlsafe(16)
    html = _env.get_template(template).render(**context, csp_nonce=nonce)
    return HTMLResponse(
        html, status_code=status_code, headers=security_headers(nonce, form_action=form_action, script=script)
    )
