"""Helpers shared by tests (importable as ``helpers``)."""
