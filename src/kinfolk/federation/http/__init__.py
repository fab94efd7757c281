"""ActivityPub over HTTP: the documents other servers GET (and, later, the inboxes they POST to)."""
