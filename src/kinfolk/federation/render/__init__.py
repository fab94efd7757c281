"""ActivityStreams documents rendered from domain rows: one module per shape.

Every local URL comes from `kinfolk.kernel.uris.Uris`; these modules never query the database
(the rows they need are loaded by `kinfolk.federation.repo`), so one rendering serves a GET, a
delivery and a test alike.
"""
