"""The bottom layer: settings, the exception hierarchy and the file lock, imported by every
other layer."""
