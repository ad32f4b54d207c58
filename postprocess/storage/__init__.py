"""Storage: WARC files, archive.db (schema, migrations) and the search index.

The lowest layer: the crawler, extraction, the build and publication may import it; it imports
none of them."""
