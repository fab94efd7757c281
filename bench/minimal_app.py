"""A_min: the smallest Starlette JSON endpoint, served by `kinfolk.runtime.serve_app` exactly as
Kinfolk is (same server, flags and event loop), on 127.0.0.1 at the port given.

`python -m bench.minimal_app PORT`
"""

from __future__ import annotations

import sys

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kinfolk.runtime import run_loop, serve_app


async def hello(request: Request) -> Response:
    return Response(orjson.dumps({"hello": "world"}), media_type="application/json")


app = Starlette(routes=[Route("/", hello)])

if __name__ == "__main__":
    run_loop(serve_app(app, host="127.0.0.1", port=int(sys.argv[1])), serving=True)
