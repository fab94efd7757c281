"""Worst-case posts are refused without stalling the server: a real uvicorn server keeps
answering /health within 100 ms while they are sent (a 220 KB post of mentions used to stall
every request for 37 s)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx
import orjson
import uvicorn
from tests.conftest import TEST_DOMAIN

LIMIT_ERROR = "Validation failed: Text character limit of 500 exceeded"
HEALTH_BUDGET = 0.1


def _worst_case_posts() -> dict[str, str]:
    long_url = "https://e.example/" + "a" * 4000
    return {
        "80 KB of mentions (under the bound that refuses unread)": "@a " * 27_000,
        "220 KB of mentions": "@a " * 75_000,
        "220 KB of hashtags": "#a " * 75_000,
        "3.9 MB of URLs (the largest JSON body read)": " ".join([long_url] * 970),
        "14 MB of URLs": " ".join([long_url] * 3450),
        "80 KB of remote mentions and URLs": "@a@b.example https://c.example/d " * 2_400,
    }


async def test_health_answers_quickly_while_worst_case_posts_are_refused(app, make_user) -> None:  # type: ignore[no-untyped-def]
    user = await make_user("alice")
    bodies = {name: orjson.dumps({"status": text}) for name, text in _worst_case_posts().items()}
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        await asyncio.sleep(0.01)

    # Polled from another thread, so that a blocked event loop shows as a slow answer.
    answers: list[tuple[float, int]] = []
    stop = threading.Event()

    def poll() -> None:
        with httpx.Client(base_url=base, timeout=30) as health:
            health.get("/health")  # connected and warm before measuring
            while not stop.is_set():
                started = time.perf_counter()
                status = health.get("/health").status_code
                answers.append((time.perf_counter() - started, status))
                time.sleep(0.005)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    results: dict[str, tuple[int, str]] = {}
    try:
        # The app answers to its own domain only (the host check); /health to any name.
        async with httpx.AsyncClient(base_url=base, timeout=60, headers={"Host": TEST_DOMAIN}) as client:
            await asyncio.sleep(0.1)
            for name, body in bodies.items():
                started = len(answers)
                response = await client.post(
                    "/api/v1/statuses",
                    content=body,
                    headers={**user.headers, "Content-Type": "application/json"},
                )
                results[name] = (response.status_code, response.json().get("error", ""))
                while len(answers) < started + 3:  # health answered during and after each post
                    await asyncio.sleep(0.01)
    finally:
        stop.set()
        await asyncio.to_thread(poller.join, 30)
        server.should_exit = True
        await serving

    expected = {name: (422, LIMIT_ERROR) for name in bodies}
    expected["14 MB of URLs"] = (413, "Request entity too large")  # refused before it is parsed
    assert results == expected
    assert answers and all(status == 200 for _, status in answers)
    slowest = max(seconds for seconds, _ in answers)
    assert slowest < HEALTH_BUDGET, f"/health took {slowest * 1000:.0f} ms while posts were refused"


async def test_over_limit_text_is_refused_on_every_path_and_changes_nothing(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    posted = await client.post("/api/v1/statuses", data={"status": "hello"}, headers=alice.headers)
    assert posted.status_code == 200
    status_id = posted.json()["id"]
    floods = {
        "mentions": "@a " * 30_000,
        "an overlong URL": "https://e.example/" + "a" * 4_100,
        "spoiler": "x",
    }
    later = "2999-01-01T00:00:00Z"
    for name, text in floods.items():
        spoiler = "s" * 501 if name == "spoiler" else ""
        for method, url, extra in (
            ("POST", "/api/v1/statuses", {}),
            ("POST", "/api/v1/statuses", {"scheduled_at": later}),
            ("PUT", f"/api/v1/statuses/{status_id}", {}),
        ):
            response = await client.request(
                method,
                url,
                content=orjson.dumps({"status": text, "spoiler_text": spoiler, **extra}),
                headers={**alice.headers, "Content-Type": "application/json"},
            )
            assert (response.status_code, response.json()) == (422, {"error": LIMIT_ERROR}), (
                name,
                method,
                extra,
            )
    # Exactly at the limit still posts: 20 URLs of 4,096 characters (20 x 23), 20 spaces, 20 x.
    at_limit = " ".join(["https://e.example/" + "a" * (4096 - 18)] * 20) + " " + "x" * 20
    ok = await client.post("/api/v1/statuses", json={"status": at_limit}, headers=alice.headers)
    assert ok.status_code == 200, ok.text
    assert (await client.get(f"/api/v1/statuses/{status_id}", headers=alice.headers)).json()["content"] == (
        "<p>hello</p>"
    )
    timeline = await client.get("/api/v1/scheduled_statuses", headers=alice.headers)
    assert timeline.json() == []


async def test_search_queries_over_the_limit_are_refused(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    query = "from:@a language:en " * 300
    response = await client.get("/api/v2/search", params={"q": query}, headers=alice.headers)
    assert response.status_code == 422
    assert "Query is too long" in response.json()["error"]
    ok = await client.get("/api/v2/search", params={"q": query[:4000]}, headers=alice.headers)
    assert ok.status_code == 200
