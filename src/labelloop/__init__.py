"""labelloop: self-hosted image labeling with smart labeling."""

__version__ = "0.1.0"
