"""`python -m pipeline.cli`: the newsaudit command line."""

from pipeline.cli import app

if __name__ == "__main__":  # pragma: no cover
    app()
