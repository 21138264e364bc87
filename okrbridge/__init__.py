"""okrbridge: keep OKRs and the tools where the work happens in sync, both ways."""

__version__ = "0.1.0"

__all__ = ["__version__"]
