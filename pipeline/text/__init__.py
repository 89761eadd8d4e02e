"""Text, no model: reading articles, sentences with offsets, chunks, quotes, lexical helpers."""
