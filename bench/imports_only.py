"""A_imports: a Python process that imported Kinfolk's dependencies and nothing of Kinfolk;
prints its resident memory in MB."""

from __future__ import annotations

import importlib
from pathlib import Path

MODULES = [
    "starlette.applications",
    "uvicorn",
    "uvloop",
    "sqlalchemy.ext.asyncio",
    "sqlite3",
    "alembic",
    "asyncpg",
    "orjson",
    "pydantic",
    "pydantic_settings",
    "argon2",
    "cryptography.hazmat.primitives.asymmetric.rsa",
    "authlib",
    "PIL.Image",
    "jinja2",
    "python_multipart",
    "redis.asyncio",
    "aiohttp",
    "http_ece",
    "py_vapid",
    "nh3",
    "itsdangerous",
]

if __name__ == "__main__":
    for name in MODULES:
        importlib.import_module(name)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            print(int(line.split()[1]) / 1024)
