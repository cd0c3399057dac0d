"""Turning an admin's upload or link into a corpus document: extract, fetch, store.

`extract` reads a file's bytes into an `Extracted` text with its citation fields,
`fetch` downloads one web page behind an address guard, `uploads` stores an
`Extracted` as a Markdown file in the uploads folder (and removes it again).
Nothing here knows about Telegram: the bot (bot/ingest_handlers.py) only wires it.
"""

from retrieval.ingest.models import Extracted, IngestError

__all__ = ["Extracted", "IngestError"]
