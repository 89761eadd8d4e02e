"""One-call functions: each opens the model (starting the embedded server if it is the one
configured), does its work and closes it. For many articles, keep an ``Auditor`` open."""

from __future__ import annotations

from collections.abc import Iterable

from newsaudit.auditor import Auditor, Config
from newsaudit.inputs import ArticleInput, to_document, to_statements
from schemas.report import ArticleReport
from schemas.verification import StatementCheck


def check(
    article: ArticleInput,
    *,
    model: str | None = None,
    config: Config | None = None,
    api_base: str | None = None,
) -> ArticleReport:
    """Audit one article (a path, its text or a record dict) and return its report.

    Examples:
        >>> import newsaudit
        >>> report = newsaudit.check("article.txt")
        >>> report.article.id, len(report.sentences) > 0
        ('article', True)
    """
    doc = to_document(article)  # a bad input fails before any model starts
    with Auditor(model=model, config=config, api_base=api_base) as auditor:
        return auditor.check(doc)


async def acheck(
    article: ArticleInput,
    *,
    model: str | None = None,
    config: Config | None = None,
    api_base: str | None = None,
) -> ArticleReport:
    """``check`` for async code: ``report = await newsaudit.acheck("article.txt")``."""
    doc = to_document(article)
    async with Auditor(model=model, config=config, api_base=api_base) as auditor:
        return await auditor.acheck(doc)


def verify(
    article: ArticleInput,
    statements: str | Iterable[str],
    *,
    headline: bool = False,
    model: str | None = None,
    config: Config | None = None,
    api_base: str | None = None,
) -> list[StatementCheck]:
    """Check statements against one article: one ``StatementCheck`` (verdict, probability,
    evidence sentences) per statement, in order; ``headline=True`` adds one, last, for the
    article's own headline.

    Examples:
        >>> import newsaudit
        >>> checks = newsaudit.verify("article.txt", ["The council approved a budget."])
        >>> len(checks), checks[0].statement
        (1, 'The council approved a budget.')
    """
    doc, asked = to_document(article), to_statements(statements, headline)
    with Auditor(model=model, config=config, api_base=api_base) as auditor:
        return auditor.verify(doc, asked, headline=headline)


async def averify(
    article: ArticleInput,
    statements: str | Iterable[str],
    *,
    headline: bool = False,
    model: str | None = None,
    config: Config | None = None,
    api_base: str | None = None,
) -> list[StatementCheck]:
    """``verify`` for async code."""
    doc, asked = to_document(article), to_statements(statements, headline)
    async with Auditor(model=model, config=config, api_base=api_base) as auditor:
        return await auditor.averify(doc, asked, headline=headline)
