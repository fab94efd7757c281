"""One module per locale, each with a `CATALOGUE` (see kinfolk.i18n.catalogue)."""
