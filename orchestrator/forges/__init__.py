"""Forges: where branches and pull requests live. One module per backend."""
