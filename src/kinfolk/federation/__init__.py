"""ActivityPub federation: talking to other servers (imports the domain; the domain never imports this)."""
