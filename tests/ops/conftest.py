"""The API tests' live server, for checks that reach the server over real HTTP."""

from tests.api.conftest import live_server  # noqa: F401
