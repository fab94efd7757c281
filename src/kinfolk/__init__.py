"""Kinfolk: a federated microblogging server speaking ActivityPub and the Mastodon client API."""

__version__ = "0.1.0"

# The Mastodon API level we claim, so that client libraries enable their features.
MASTODON_COMPAT_VERSION = "4.5.0"
MASTODON_API_VERSION = 6

# Where the source code lives (the AGPL asks servers to point their users at it).
SOURCE_URL = "https://codeberg.org/kinfolk/kinfolk"
