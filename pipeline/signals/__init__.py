"""Judgment signals: attribution, cues, embeddings, subjectivity, alignment, citations, labels."""
