"""Federation: the ActivityPub front end onto the domain, beside `api/` (the Mastodon client API).

It parses and renders ActivityStreams documents, signs and verifies HTTP requests, receives
activities in the inbox and delivers ours. It imports the domain; the domain never imports it.
"""
