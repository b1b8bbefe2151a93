"""Define: experiment files, target tables and the canonical hashes of a model."""
