"""Deployment tests: the manifests, the image, make run and the README walk-through."""
