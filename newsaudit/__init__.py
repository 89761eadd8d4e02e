"""newsaudit's public Python API: audit news articles from notebooks and data pipelines.

Examples:
    >>> import newsaudit
    >>> report = newsaudit.check("article.txt")            # one article, its ArticleReport
    >>> with newsaudit.Auditor() as auditor:               # one model open for many articles
    ...     reports = [r.report for r in auditor.check_many("articles/")]
    >>> sentences = newsaudit.reports_frame(reports, level="sentence")   # pandas, one row each
    >>> sorted(sentences.columns)[:3]
    ['article_id', 'attribution_named', 'attribution_source']
    >>> nights = newsaudit.history("history.duckdb")        # `newsaudit history add` tables

Everything importable from ``newsaudit`` is public. The ``pipeline``, ``schemas`` and
``prompts`` packages are newsaudit's internals: their names and contents may change.
"""

from newsaudit.api import acheck, averify, check, verify
from newsaudit.auditor import Auditor, Result
from newsaudit.frames import reports_frame
from newsaudit.inputs import ArticleInput
from newsaudit.nightly import History, history
from pipeline import __version__
from pipeline.core.config import Settings, load_settings
from pipeline.core.errors import (
    ConfigError,
    InputError,
    NewsauditError,
    ProviderError,
    SetupError,
    ValidationFailure,
)
from schemas.report import ArticleReport
from schemas.sentence import Sentence, SentenceLabel
from schemas.verification import StatementCheck, Support

__all__ = [
    "ArticleInput",
    "ArticleReport",
    "Auditor",
    "ConfigError",
    "History",
    "InputError",
    "NewsauditError",
    "ProviderError",
    "Result",
    "Sentence",
    "SentenceLabel",
    "Settings",
    "SetupError",
    "StatementCheck",
    "Support",
    "ValidationFailure",
    "__version__",
    "acheck",
    "averify",
    "check",
    "history",
    "load_settings",
    "reports_frame",
    "verify",
]
