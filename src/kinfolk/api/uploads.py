"""Uploaded files as clients send them: multipart parts, or `data:` URIs inside JSON bodies.

Mastodon accepts both for images (Mastodon.py sends edited thumbnails as base64 data URIs), so
the media code reads either through the same small interface.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from starlette.datastructures import UploadFile

from kinfolk.kernel.errors import Unprocessable

_DATA_URI = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?(;[\w-]+=[\w.-]+)*;base64,", re.IGNORECASE)


class DataUpload:
    """The bytes of a `data:` URI, readable like an upload."""

    def __init__(self, data: bytes, content_type: str | None) -> None:
        self._data = data
        self._offset = 0
        self.content_type = content_type

    async def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else min(len(self._data), self._offset + size)
        chunk = self._data[self._offset : end]
        self._offset = end
        return chunk


def as_upload(value: Any, *, field: str, max_bytes: int) -> UploadFile | DataUpload | None:
    """A multipart file or a base64 data URI; None when absent; 422 for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, UploadFile):
        return value
    if isinstance(value, str):
        match = _DATA_URI.match(value)
        if match is None:
            raise Unprocessable(f"Validation failed: {field} is not a file")
        encoded = value[match.end() :]
        # Base64 is 4/3 the size of the data; refuse before decoding anything too large.
        if len(encoded) * 3 // 4 > max_bytes:
            raise Unprocessable(f"Validation failed: {field} is too big")
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise Unprocessable(f"Validation failed: {field} is not valid base64") from exc
        return DataUpload(data, match.group(1))
    raise Unprocessable(f"Validation failed: {field} is not a file")
