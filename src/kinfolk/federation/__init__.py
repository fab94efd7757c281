"""ActivityPub federation: a second front end onto the domain (parse, render, sign, deliver, fetch)."""
