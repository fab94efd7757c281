"""Link preview cards: the first link of a status, fetched once for the whole server."""
