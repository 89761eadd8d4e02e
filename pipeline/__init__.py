"""newsaudit: evidence-backed audits of news articles through structured-output LLM stages."""

__version__ = "0.1.0"
