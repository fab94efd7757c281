"""An independent ActivityPub server run beside the Kinfolk servers: pubby (PyPI `pubby`, a
federation library by other authors, AGPL) on a small Flask app (`pubby_peer.py`), so that our
federation is checked against code that does not share our mistakes.

What pubby does on its own (our code only drives it): WebFinger and the actor document (with
`publicKey`), draft-cavage HTTP signatures on every delivery (`rsa-sha256` over
`(request-target) host date digest content-type content-length`) and on its actor fetches
(`(request-target) host date`), verification of every inbox POST (the key fetched from the
`keyId`'s actor; the signer must be the activity's `actor`, or own the key), `Follow` received
(stored, `Accept` sent), `Accept`/`Reject` of its own follows, `Undo`, and delivery of its
`Create`/`Delete` to its followers' (shared) inboxes and to the actors addressed.

What it does not do, so a test must not ask it: keep a timeline (a `Create` that is neither a
reply to its notes nor a mention of it is verified and recorded here, then ignored by pubby),
check `Date` freshness, or re-fetch a key after a failed verification (it caches actors).

    peer = PubbyPeer.start(tmp, hosts=federation_hosts)
    peer.follow(actor_url)            # pubby sends a signed Follow; Kinfolk should Accept
    peer.wait_received("Accept")      # verified by pubby, recorded here
    note = peer.post("hi", mention=[actor_url])["object"]
    peer.delete(note["id"])
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.federation.harness import ROOT, _Ports, hosts_setting, wait_until

# The PyPI distribution the peer needs (pyproject's dev extra).
REQUIREMENT = "pubby==0.6.2"
# Its name: `peer.test:<port>`, which every federation's KINFOLK_HOSTS resolves.
PEER = "peer"


def available() -> str | None:
    """Why the peer cannot run here (pubby or Flask missing), or None."""
    try:
        import flask  # noqa: F401
        import pubby  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (the dev extra needs {REQUIREMENT})"
    return None


@dataclass
class PubbyPeer:
    """`peer@peer.test:<port>`: one actor on a pubby server of its own."""

    name: str
    port: int
    tmp: Path
    hosts: str
    proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def start(
        cls, tmp: Path, *, name: str = PEER, hosts: Iterable[str] = (), timeout: float = 60.0
    ) -> PubbyPeer:
        """Start it and wait until its WebFinger answers. `hosts`: the other servers' names
        (`alpha.test`), which it reaches at 127.0.0.1 without DNS."""
        ports = _Ports()
        peer = cls(name, ports.take(), tmp / name, hosts_setting([f"{name}.test", *hosts]))
        ports.release(peer.port)
        atexit.register(peer.close)  # should pytest stop without running the fixture's teardown
        peer.spawn()
        peer.wait_ready(timeout)
        return peer

    @property
    def domain(self) -> str:
        return f"{self.name}.test:{self.port}"

    @property
    def origin(self) -> str:
        return f"http://{self.domain}"

    @property
    def actor_id(self) -> str:
        return f"{self.origin}/ap/actor"

    @property
    def acct(self) -> str:
        return f"{self.name}@{self.domain}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.tmp / "peer.log"

    def spawn(self) -> None:
        self.tmp.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH")])
        )
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.federation.pubby_peer",
                    "--name",
                    self.name,
                    "--port",
                    str(self.port),
                    "--data",
                    str(self.tmp / "data"),
                    "--hosts",
                    self.hosts,
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the pubby peer exited with {self.proc.returncode}\n{self.logs()}")
            try:
                self.webfinger()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"the pubby peer did not answer in {timeout:.0f} s\n{self.logs()}")

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def logs(self, tail: int = 6000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return f"--- pubby peer ({self.origin}) log\n{text[-tail:]}"

    # -- talking to it ---------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 60) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Host": self.domain},
        )
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return json.loads(response.read())

    def webfinger(self) -> dict[str, Any]:
        document: dict[str, Any] = self._call(
            "GET", f"/.well-known/webfinger?resource=acct:{self.acct}", timeout=2
        )
        return document

    def actor(self) -> dict[str, Any]:
        document: dict[str, Any] = self._call("GET", "/ap/actor")
        return document

    def fetch(self, url: str) -> tuple[int, str]:
        """A GET of `url` signed by pubby's key (as its actor fetches are): status and body."""
        answer: dict[str, Any] = self._call("GET", f"/_peer/fetch?{urllib.parse.urlencode({'url': url})}")
        return int(answer["status"]), str(answer["body"])

    def follow(self, actor_url: str) -> dict[str, Any]:
        """pubby sends a signed `Follow` of `actor_url` to its inbox; the activity sent."""
        activity: dict[str, Any] = self._call("POST", "/_peer/follow", {"actor": actor_url})
        return activity

    def unfollow(self, follow: dict[str, Any]) -> dict[str, Any]:
        activity: dict[str, Any] = self._call("POST", "/_peer/unfollow", {"follow": follow})
        return activity

    def post(
        self, content: str, *, in_reply_to: str | None = None, mention: Iterable[str] = ()
    ) -> dict[str, Any]:
        """A public `Note` in a `Create`, delivered (before this returns) to the peer's followers
        and to the mentioned actors; the activity sent."""
        body = {"content": content, "in_reply_to": in_reply_to, "mention": list(mention)}
        activity: dict[str, Any] = self._call("POST", "/_peer/post", body)
        return activity

    def delete(self, note_id: str) -> dict[str, Any]:
        """A `Delete` of one of its notes (which then answers 410 with a `Tombstone`)."""
        activity: dict[str, Any] = self._call("POST", "/_peer/delete", {"id": note_id})
        return activity

    def followers(self) -> list[str]:
        actors: list[str] = self._call("GET", "/_peer/followers")
        return actors

    def received(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Activities pubby accepted in its inbox (signature verified), oldest first."""
        activities: list[dict[str, Any]] = self._call("GET", "/_peer/received")
        return [a for a in activities if kind is None or a.get("type") == kind]

    def wait_received(self, kind: str, timeout: float = 30.0, **match: Any) -> dict[str, Any]:
        """The first verified activity of type `kind` whose top-level fields equal `match`."""

        def found() -> dict[str, Any] | None:
            for activity in self.received(kind):
                if all(activity.get(k) == v for k, v in match.items()):
                    return activity
            return None

        return wait_until(found, timeout, what=f"a {kind} {match or ''} verified by the pubby peer")
