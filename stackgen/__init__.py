"""stackgen: one validated stack.yaml to a running monitoring stack on Docker."""

__version__ = "0.1.0"
