"""The streaming API: WebSocket (`/api/v1/streaming`, multiplexed) and server-sent events
(`/api/v1/streaming/<stream>`), speaking Mastodon's streaming protocol.

`viewer` authenticates the token, `streams` turns a stream name into pub/sub channels,
`session` renders each event for the connection's viewer, and `sse` / `websocket` speak the
two transports.
"""
