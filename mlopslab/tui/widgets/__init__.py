"""Widgets of the TUI; each one a module."""
