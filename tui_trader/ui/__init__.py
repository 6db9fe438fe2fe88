"""The Textual console: screens, widgets, themes, keys and the command palette.

Only this package imports `textual`; everything below it is reached through services.
"""
