"""mlopslab: a local-first ML lab manager."""

__version__ = "0.1.0"
