"""ota: track the terms of online services and keep every change as evidence."""

__version__ = "0.1.0"
