"""The one place the package version is defined (read by pyproject.toml)."""

__version__ = "0.1.0"
