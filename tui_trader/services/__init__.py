"""Use cases the UI and the CLI share: validate input, enforce ownership, call below."""
