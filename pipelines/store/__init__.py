"""The store that ingestion writes and retrieval reads: the SQLite catalog (the source of truth)
and the FAISS and Whoosh indexes derived from it."""
