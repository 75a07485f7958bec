"""The package version, kept in one place for hatch and for the code."""

__version__ = "0.1.0"
