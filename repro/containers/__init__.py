"""Containers: SIF images in OCI registries (push, resolve tags, pull by digest)."""
