"""An ActivityPub server that is not ours, for `independent.py`: pubby (a library from PyPI by
other authors: its own inbox processing, draft-cavage signatures, delivery and WebFinger) on a
Flask app, run as `python -m tests.federation.pubby_peer --name peer --port N --data DIR`.

It holds one actor, `peer@peer.test:<port>` at `http://peer.test:<port>/ap/actor`. Around
pubby, this file only adds what a test needs to drive it and to see what it received:

- name resolution: the host names given by `--hosts` (`alpha.test=127.0.0.1,...`) resolve to
  the address given, without DNS;
- `GET /notes/<id>`: its notes, dereferenceable (pubby leaves serving objects to the site);
- `/_peer/*`: a signed GET of any URL, follow or unfollow an actor, post (optionally in reply to, or mentioning), delete,
  and list the activities pubby received and verified (`on_activity` runs after pubby's
  signature check, so an unsigned or badly signed delivery never appears there).

Deliveries are synchronous (`async_delivery=False`): a `/_peer/post` answers once pubby has
delivered the activity to every inbox it chose, so a test need not guess when it was sent.
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from flask import Flask, Response, jsonify, request
from pubby import ActivityPubHandler, Object
from pubby.crypto import ensure_private_key_file, sign_request
from pubby.server.adapters.flask import bind_activitypub
from pubby.storage.adapters.file import FileActivityPubStorage

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
CONTEXT = "https://www.w3.org/ns/activitystreams"


def resolve_names(hosts: str) -> None:
    """`--hosts alpha.test=127.0.0.1,...`: these names connect to these addresses, in-process."""
    table = dict(item.split("=", 1) for item in hosts.split(",") if "=" in item)
    original = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.lower() in table:
            host = table[host.lower()]
        return original(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


def build_app(name: str, port: int, data: Path) -> Flask:
    domain = f"{name}.test:{port}"
    base = f"http://{domain}"
    data.mkdir(parents=True, exist_ok=True)
    received: list[dict[str, Any]] = []
    notes: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()

    def record(activity: Any, raw: dict[str, Any]) -> None:
        with lock:
            received.append(raw)
        (data / "received.jsonl").open("a").write(json.dumps(raw) + "\n")

    handler = ActivityPubHandler(
        FileActivityPubStorage(data / "storage"),
        {"base_url": base, "username": name, "name": f"{name} (pubby)", "summary": "an independent peer"},
        private_key_path=ensure_private_key_file(data / "key.pem"),
        webfinger_domain=domain,
        allow_private_targets=True,
        async_delivery=False,
        max_retries=2,
        http_timeout=10.0,
        on_activity=record,
        software_name="pubby-peer",
    )
    app = Flask(f"pubby-peer-{name}")
    bind_activitypub(app, handler)

    def activity_json(document: dict[str, Any], status: int = 200) -> Response:
        return Response(json.dumps(document), status=status, content_type="application/activity+json")

    @app.get("/notes/<note_id>")
    def note(note_id: str) -> Response:
        with lock:
            document = notes.get(f"{base}/notes/{note_id}")
        if document is None:
            return activity_json({"error": "not found"}, 404)
        if document.get("type") == "Tombstone":
            return activity_json(document, 410)
        return activity_json(document)

    @app.get("/_peer/received")
    def list_received() -> Response:
        with lock:
            return jsonify(list(received))

    @app.get("/_peer/followers")
    def followers() -> Response:
        return jsonify([f.actor_id for f in handler.storage.get_followers(actor_id=handler.actor_id)])

    @app.get("/_peer/fetch")
    def fetch() -> Response:
        """GET a URL signed by pubby (`sign_request`: `(request-target) host date`), as its own
        fetches of actors are; the status and body, for tests of signed and authorized fetch."""
        url = str(request.args["url"])
        headers = sign_request(
            private_key=handler._private_key,
            key_id=handler.key_id,
            method="GET",
            url=url,
            headers={"Accept": "application/activity+json"},
        )
        answer = requests.get(url, headers=headers, timeout=10, allow_redirects=False)
        return jsonify({"status": answer.status_code, "body": answer.text})

    @app.post("/_peer/follow")
    def follow() -> Response:
        target = str((request.get_json() or {})["actor"])
        activity = {
            "@context": CONTEXT,
            "id": f"{base}/activities/{uuid.uuid4()}",
            "type": "Follow",
            "actor": handler.actor_id,
            "object": target,
            "to": [target],
        }
        return jsonify(handler.publish_activity(activity))

    @app.post("/_peer/unfollow")
    def unfollow() -> Response:
        body = request.get_json() or {}
        follow_activity = body["follow"]
        activity = {
            "@context": CONTEXT,
            "id": f"{base}/activities/{uuid.uuid4()}",
            "type": "Undo",
            "actor": handler.actor_id,
            "object": follow_activity,
            "to": [follow_activity["object"]],
        }
        return jsonify(handler.publish_activity(activity))

    @app.post("/_peer/post")
    def post() -> Response:
        body = request.get_json() or {}
        note_id = f"{base}/notes/{uuid.uuid4()}"
        mentions = [str(m) for m in body.get("mention", [])]
        obj = Object(
            id=note_id,
            type="Note",
            content=str(body.get("content", "")),
            url=note_id,
            attributed_to=handler.actor_id,
            in_reply_to=body.get("in_reply_to"),
            published=datetime.now(UTC),
            to=[PUBLIC],
            cc=[handler.followers_url, *mentions],
            tag=[{"type": "Mention", "href": m} for m in mentions],
        )
        document = {"@context": CONTEXT, **obj.to_dict()}
        with lock:
            notes[note_id] = document
        return jsonify(handler.publish_object(obj, "Create"))

    @app.post("/_peer/delete")
    def delete() -> Response:
        note_id = str((request.get_json() or {})["id"])
        with lock:
            notes[note_id] = {"@context": CONTEXT, "id": note_id, "type": "Tombstone"}
        return jsonify(handler.publish_object(Object(id=note_id), "Delete"))

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="peer")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--hosts", default="")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    resolve_names(args.hosts)
    app = build_app(args.name, args.port, args.data)
    app.run(host="127.0.0.1", port=args.port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
