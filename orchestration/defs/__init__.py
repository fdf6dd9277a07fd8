"""One package per domain, each exposing ``defs``."""
