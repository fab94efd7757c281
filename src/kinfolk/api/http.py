"""Request and response helpers that speak Mastodon's conventions.

Parameters arrive as query strings, urlencoded or multipart forms, or JSON, interchangeably;
`foo[]` keys become lists and `a[b]` keys nested dicts, as Rails parses them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from kinfolk.api.locale import remember_lang
from kinfolk.kernel.errors import BadRequest, KinfolkError, NotFound, PayloadTooLarge, Unprocessable
from kinfolk.kernel.ids import id_value, is_digits

__all__ = ["id_value", "is_digits"]  # re-exported: routes read ids through this module

M = TypeVar("M", bound=BaseModel)

_KEY_PART = re.compile(r"\[([^\]]*)\]")
# Bounds on what a request's parameters may be, checked before they are built (Rack's own are
# 32 levels of nesting and a few thousand parameters): more is refused with a 400.
MAX_PARAM_DEPTH = 32
MAX_PARAMS = 1000
MAX_KEY_LENGTH = 1024
# JSON bodies: Rails' parser refuses more than 100 levels (orjson stops at 1024 by itself).
MAX_JSON_DEPTH = 100
MAX_JSON_VALUES = 10_000
# A JSON body larger than this is refused (413) before it is parsed: parsing 14 MB took 40-80 ms
# of the event loop. The largest legitimate ones (a status of long URLs, a data-URI thumbnail)
# are well below; media uploads are multipart and have their own limits.
MAX_JSON_BODY_BYTES = 4 * 1024 * 1024
_PARSE_ERROR = "Error occurred while parsing request parameters"


class JSONResponse(Response):
    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def json_response(data: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(data, status_code=status_code, headers=headers)


def _insert(target: dict[str, Any], key: str, value: Any) -> None:
    """Place `value` at a Rails-style key such as `poll[options][]` or `fields_attributes[0][name]`.

    Keys longer than MAX_KEY_LENGTH or nested deeper than MAX_PARAM_DEPTH are refused (400)
    before anything is built."""
    if len(key) > MAX_KEY_LENGTH or key.count("[") > MAX_PARAM_DEPTH:
        raise BadRequest(_PARSE_ERROR)
    head, _, rest = key.partition("[")
    parts = [head] + (_KEY_PART.findall("[" + rest) if rest else [])
    node: Any = target
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if last:
            if part == "":
                continue
            if isinstance(node, dict):
                node[part] = value
            return
        nxt = parts[i + 1]
        if nxt == "" and i + 1 == len(parts) - 1:
            existing = node.get(part) if isinstance(node, dict) else None
            if not isinstance(existing, list):
                existing = []
                node[part] = existing
            existing.append(value)
            return
        if not isinstance(node, dict):
            return
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child


def flatten_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Rails-style pairs as one nested dict; more than MAX_PARAMS pairs are refused (400)."""
    if len(pairs) > MAX_PARAMS:
        raise BadRequest(_PARSE_ERROR)
    out: dict[str, Any] = {}
    for key, value in pairs:
        _insert(out, key, value)
    return out


async def read_params(request: Request, *, include_query: bool = True) -> dict[str, Any]:
    """Query, form and JSON parameters merged into one nested dict (body wins over query)."""
    params: dict[str, Any] = flatten_pairs(list(request.query_params.multi_items())) if include_query else {}
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    is_json = ctype == "application/json" or ctype.endswith("+json")
    # Rails reads a JSON body on a GET too, and Mastodon.py sends list parameters that way
    # (`familiar_followers`' `id[]`); other bodies on a GET are ignored.
    if request.method in ("GET", "HEAD", "OPTIONS") and not is_json:
        return params
    if is_json:
        body = await request.body()
        if len(body) > MAX_JSON_BODY_BYTES:
            raise PayloadTooLarge()
        if body.strip():
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError as exc:  # also more than 1024 levels of nesting
                raise BadRequest(_PARSE_ERROR) from exc
            if not isinstance(data, dict) or not _json_within_bounds(data):
                raise BadRequest(_PARSE_ERROR)
            params.update(data)
    elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.form(max_files=16, max_fields=1000)
        except KinfolkError:
            raise  # a 413 from the body limit, not a parse error
        except Exception as exc:  # malformed bodies, or more than max_fields fields
            raise BadRequest(_PARSE_ERROR) from exc
        params.update(flatten_pairs(list(form.multi_items())))
    remember_lang(request.scope, params.get("lang"))  # for localised error messages
    _refuse_nul(params)
    return params


def _json_within_bounds(data: Any) -> bool:
    """At most MAX_JSON_DEPTH levels and MAX_JSON_VALUES values, walked without recursion so
    that no shape of document can exhaust the stack."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    seen = 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if depth > MAX_JSON_DEPTH or seen > MAX_JSON_VALUES:
            return False
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return True


def _refuse_nul(params: dict[str, Any]) -> None:
    """No parameter may hold U+0000: PostgreSQL cannot store it and SQLite would, so the same
    request would succeed or fail by database. Walked without recursion (JSON nests deeply)."""
    stack: list[Any] = [params]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                raise Unprocessable("Validation failed: Parameters can't contain a null character")
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def validate(model: type[M], params: dict[str, Any]) -> M:
    """Validate into `model`; a failure is a 422 naming the field, as Mastodon's are."""
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        details: dict[str, list[dict[str, str]]] = {}
        messages = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "base"
            details.setdefault(field, []).append({"error": "ERR_INVALID", "description": err["msg"]})
            messages.append(f"{field} {err['msg'].lower()}")
        raise Unprocessable("Validation failed: " + ", ".join(messages), details=details) from exc


def as_bool(value: Any, default: bool = False) -> bool:
    """Rails-style booleans: '1', 'true', 'on' are true; '0', 'false', 'off', '' are false."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    text = str(value).strip().lower()
    if text in ("1", "true", "t", "on", "yes"):
        return True
    if text in ("0", "false", "f", "off", "no", ""):
        return False
    return default


def is_upload(value: Any) -> bool:
    return isinstance(value, UploadFile)


def path_id(request: Request, name: str = "id") -> int:
    """Ids in paths are numbers that fit 64 bits; anything else is simply not found, as in Mastodon."""
    number = id_value(str(request.path_params.get(name, "")))
    if number is None:
        raise NotFound()
    return number


def parse_datetime(value: Any, message: str) -> datetime | None:
    """An ISO 8601 time from a client, in UTC; None when absent. Anything that is not one, or that
    falls outside the years 1-9999 once in UTC (9999-12-31T23:59:59-14:00 does), is a 422 with
    `message`, never an OverflowError: every date parameter goes through here."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise Unprocessable(message)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise Unprocessable(message) from exc
