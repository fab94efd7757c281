"""Which site a host name belongs to, for budgets that must not be escaped by inventing names.

One wildcard DNS entry gives an attacker any number of host names (`a1.evil.example`,
`x.y.evil.example`, ...) on one registration; a budget counted per host name would count
each of them apart. Budgets are therefore counted per site, the registrable domain the name
belongs to. No public-suffix list ships with the project, so the site is approximated: the
last two labels, or three when the second-to-last is one of the short second-level labels
registries commonly sell under (`example.co.uk`, `example.com.au`). The approximation errs
towards grouping: servers under one public suffix that is not listed (say `*.github.io`) share
a budget, which slows them, never lets a flood through.
"""

from __future__ import annotations

# Second-level labels under which country registries sell names (co.uk, com.br, ne.jp, ...).
_SECOND_LEVEL = frozenset(
    {
        "ac",
        "co",
        "com",
        "edu",
        "go",
        "gob",
        "gov",
        "gv",
        "ltd",
        "me",
        "mil",
        "ne",
        "net",
        "nic",
        "or",
        "org",
        "plc",
    }
)


def bare_host(host: str) -> str:
    """`Host.Example.:8080` -> `host.example`: lower case, no port, no trailing dot."""
    value = host.strip().lower()
    if value.startswith("["):
        return value.split("]", 1)[0] + "]"
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def site_of(host: str) -> str:
    """The registrable domain `host` (a name, with or without a port) is counted under; an IP
    address is its own site."""
    name = bare_host(host)
    if name.startswith("[") or ":" in name or name.replace(".", "").isdigit():
        return name
    labels = [label for label in name.split(".") if label]
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])
