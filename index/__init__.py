"""Documents in, searchable store out: load, chunk, embed, store, search."""
