"""HyperAgent's embeddings agent: ``embed.texts``, ``docs.index``, ``docs.search`` (see README)."""
