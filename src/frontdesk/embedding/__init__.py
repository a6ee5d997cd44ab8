"""Sentence embeddings shared by serving (intent, search) and training."""
