"""Incoming ActivityStreams, WebFinger and NodeInfo documents as small typed values (no JSON-LD
expansion, bounded work, one exception type: `ParseError`).

`values` holds the readers (ids, text, URLs and origins); `actor`, `object`, `activity`,
`collection` and `discovery` one parser each; `shape.shape_of` says which parser a document needs.
"""
