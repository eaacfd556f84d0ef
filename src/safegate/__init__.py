"""SafeGate: a protective DNS resolver and child-safety platform (Vietnamese and English)."""

__version__ = "0.1.0"
