"""The strategy kinds, one module each."""
