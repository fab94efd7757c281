"""ActivityPub: how this server is read by, and (later) talks to, other servers."""
