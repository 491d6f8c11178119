"""Bytes only: blob stores, manifests, hashing, safe download, file sources."""
