"""The bottom layer: settings and the exception hierarchy, imported by every other layer."""
