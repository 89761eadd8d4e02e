"""The newsaudit command line (`newsaudit = "pipeline.cli:app"`): a thin layer over the library."""

from pipeline.cli.main import app

__all__ = ["app"]
