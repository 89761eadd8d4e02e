"""The Auditor: one model (and the embedded server) kept open across many articles, with the
batch's per-article step, rate limits, stage cache and error records."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeAlias

from pydantic import ValidationError

from newsaudit._loop import LoopThread
from newsaudit.inputs import ArticleInput, Location, iter_items, to_document, to_statements
from pipeline.batch.cache import run_fingerprint
from pipeline.batch.inputs import Item
from pipeline.batch.step import Job, article_key, error_record, open_step_llm
from pipeline.core.config import Settings, load_settings
from pipeline.core.errors import ConfigError, InputError
from pipeline.model.ratelimit import RateLimiter
from pipeline.run import audit, open_llm
from pipeline.run import verify as run_verify
from pipeline.stages import StructuredLLM
from schemas.report import ArticleReport
from schemas.verification import StatementCheck

Errors: TypeAlias = Literal["raise", "return"]
Config: TypeAlias = str | os.PathLike[str] | Settings


def resolve_settings(
    model: str | None = None, config: Config | None = None, api_base: str | None = None
) -> Settings:
    """``config`` (a TOML file, a ``Settings``, or None: newsaudit.toml or $NEWSAUDIT_CONFIG,
    and the NEWSAUDIT_* environment) with ``model`` and ``api_base`` on top."""
    if not isinstance(config, Settings):
        path = Path(config) if config is not None else None
        return load_settings(path, model=model, api_base=api_base)
    overrides = {k: v for k, v in (("model", model), ("api_base", api_base)) if v is not None}
    if not overrides:
        return config
    try:
        return Settings.model_validate({**config.model_dump(), **overrides})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"config: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None


@dataclass(frozen=True)
class Result:
    """One article's outcome from ``check_many``; results come as articles finish.

    ``index`` is the input's place in the input order (from 0), ``name`` how it is named (its
    path, record id, or ``<text>``) and ``id`` the article id. Exactly one of ``report`` and
    ``error`` is set; ``error`` only with ``errors="return"``, and ``error_record`` is then the
    record ``newsaudit batch`` would write to errors.jsonl (``error_type``, ``message``,
    ``stage``, ``spent``). ``fields`` holds a record's other plain fields (an outlet, a story
    id...).
    """

    index: int
    name: str
    id: str | None
    report: ArticleReport | None = None
    error: Exception | None = None
    error_record: dict[str, Any] | None = None
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the article has a report."""
        return self.report is not None


class _Steps:
    """The results generator, stepped from a caller outside the Auditor's loop.

    A caller's interrupt or cancellation cancels the step in flight, and the step then
    unwinds on the loop (cancelling the articles in flight) after the caller has moved on;
    ``close`` waits for that unwinding, so that when closing returns nothing runs on.
    """

    def __init__(self, results: AsyncGenerator[Result, None]) -> None:
        self.results = results
        self.step: asyncio.Task[Any] | None = None

    async def next(self) -> Result | None:
        self.step = asyncio.current_task()
        try:
            return await self.results.__anext__()
        except StopAsyncIteration:
            return None

    async def close(self) -> None:
        if self.step is not None and not self.step.done():
            await asyncio.wait([self.step])
        await self.results.aclose()


class Auditor:
    """One model kept open (the embedded server started once) for many articles.

    ``model``, ``api_base`` and ``config`` (a TOML file or a ``Settings``) choose the model as
    ``newsaudit check`` does; without them, newsaudit.toml and NEWSAUDIT_* variables apply.
    ``cache_dir`` keeps validated stage answers there, as the batch's stage cache does, so an
    article audited again makes no model call. ``llm`` uses an already-open model object
    (``pipeline.model.llm.LLM``, or a test double) instead of opening one; its rate limits are then
    its own. Calls on a closed Auditor raise ``RuntimeError``.

    Examples:
        >>> import newsaudit
        >>> with newsaudit.Auditor() as auditor:
        ...     report = auditor.check("article.txt")
        ...     results = list(auditor.check_many(["article.txt", "articles/council.txt"]))
        >>> report.article.id, sorted(r.index for r in results)
        ('article', [0, 1])
    """

    def __init__(
        self,
        *,
        model: str | None = None,
        config: Config | None = None,
        api_base: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        llm: StructuredLLM | None = None,
    ) -> None:
        self.settings = resolve_settings(model, config, api_base)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._given = llm
        self._fingerprint = run_fingerprint(self.settings)
        self._stack: ExitStack | None = None
        self._loop: LoopThread | None = None
        self._llm: StructuredLLM | None = None

    def open(self) -> Auditor:
        """Open the model (start the embedded server); ``with`` does this for you."""
        if self._stack is not None:
            return self
        limits = self.settings.batch
        limiter = RateLimiter(limits.requests_per_minute, limits.tokens_per_minute)
        given = self._given
        factory = open_llm if given is None else (lambda _s, _l: nullcontext(given))
        job = Job(self.settings, self._fingerprint, self.cache_dir, factory)
        with ExitStack() as stack:
            self._llm, _cache = stack.enter_context(open_step_llm(job, limiter))
            self._loop = LoopThread()
            stack.callback(self._loop.close)  # first on close: cancel what runs, then the model
            self._stack = stack.pop_all()
        return self

    def close(self) -> None:
        """Cancel anything in flight and close the model (stop the embedded server)."""
        stack, self._stack, self._loop, self._llm = self._stack, None, None, None
        if stack is not None:
            stack.close()

    def __enter__(self) -> Auditor:
        return self.open()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self) -> Auditor:
        return await asyncio.to_thread(self.open)

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.close)

    def _open_loop(self) -> LoopThread:
        if self._loop is None:
            raise RuntimeError(
                "this Auditor is not open: use `with newsaudit.Auditor() as auditor:` "
                "or call auditor.open() first"
            )
        return self._loop

    def _model(self) -> StructuredLLM:
        assert self._llm is not None, "opened with the loop"
        return self._llm

    async def _check(self, article: object) -> ArticleReport:
        return await audit(to_document(article), llm=self._model(), settings=self.settings)

    async def _verify(
        self, article: object, statements: list[str], headline: bool
    ) -> list[StatementCheck]:
        doc = to_document(article)
        report = await run_verify(
            doc, statements, llm=self._model(), settings=self.settings, headline=headline
        )
        return [*report.checks, *([report.headline] if report.headline else [])]

    def check(self, article: ArticleInput) -> ArticleReport:
        """Audit one article (a path, its text or a record dict) and return its report."""
        return self._open_loop().run(self._check(article))

    async def acheck(self, article: ArticleInput) -> ArticleReport:
        """``check`` for async code."""
        return await self._open_loop().arun(self._check(article))

    def verify(
        self, article: ArticleInput, statements: str | Iterable[str], *, headline: bool = False
    ) -> list[StatementCheck]:
        """Check statements against one article: one ``StatementCheck`` per statement, in
        order, and with ``headline=True`` one more, last, for the article's own headline."""
        asked = to_statements(statements, headline)
        return self._open_loop().run(self._verify(article, asked, headline))

    async def averify(
        self, article: ArticleInput, statements: str | Iterable[str], *, headline: bool = False
    ) -> list[StatementCheck]:
        """``verify`` for async code."""
        asked = to_statements(statements, headline)
        return await self._open_loop().arun(self._verify(article, asked, headline))

    def check_many(
        self,
        articles: Location | Iterable[ArticleInput],
        *,
        concurrency: int | None = None,
        errors: Errors = "raise",
    ) -> Iterator[Result]:
        """Audit many articles, ``concurrency`` at a time (default: ``[batch] concurrency``),
        yielding a ``Result`` per article as each finishes (``Result.index`` gives its place).

        ``articles``: a folder, a glob, or a .jsonl/.parquet file (read as ``newsaudit
        batch`` reads its input; a ``str`` here is always a location), or any iterable of
        articles, read lazily. ``errors="raise"``: the first failure is raised and the
        articles in flight are cancelled; ``errors="return"``: a failed article is a
        ``Result`` with ``error`` set and the others go on. Closing the iterator (leaving a
        ``for`` loop over it with ``break`` or an exception, or ``.close()``) cancels the
        articles in flight; closing the Auditor does too.
        """
        _check_errors(errors)
        loop = self._open_loop()
        results = self._results(iter_items(articles), _limit(concurrency, self.settings), errors)
        return _drain(loop, results)

    def acheck_many(
        self,
        articles: Location | Iterable[ArticleInput],
        *,
        concurrency: int | None = None,
        errors: Errors = "raise",
    ) -> AsyncIterator[Result]:
        """``check_many`` for async code (``async for``); close it early with
        ``contextlib.aclosing`` to cancel the articles in flight at once."""
        _check_errors(errors)
        loop = self._open_loop()
        results = self._results(iter_items(articles), _limit(concurrency, self.settings), errors)
        return _relay(loop, results)

    async def _one(self, index: int, item: Item) -> Result:
        """The batch's step for one item, keeping the exception for ``errors="raise"``."""
        doc = item.doc
        key = article_key(doc, self._fingerprint) if doc is not None else None
        fields = doc.fields if doc is not None else {}
        try:
            if doc is None:
                raise item.error or InputError(f"{item.name}: unreadable")
            report = await audit(doc, llm=self._model(), settings=self.settings)
        except Exception as exc:  # one article's failure never costs the others
            record = error_record(item, key, exc)
            return Result(index, item.name, record["id"], error=exc, error_record=record)
        return Result(index, item.name, doc.id, report=report, fields=dict(fields))

    async def _results(
        self, items: Iterator[Item], concurrency: int, errors: Errors
    ) -> AsyncGenerator[Result, None]:
        """Results as they finish, at most ``concurrency`` articles in flight; the inputs are
        read as slots free up. Leaving early cancels the articles in flight."""
        numbered = enumerate(items)
        pending: set[asyncio.Task[Result]] = set()
        try:
            while True:
                for index, item in islice(numbered, concurrency - len(pending)):
                    pending.add(asyncio.create_task(self._one(index, item)))
                if not pending:
                    return
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for result in sorted((t.result() for t in done), key=lambda r: r.index):
                    if result.error is not None and errors == "raise":
                        raise result.error
                    yield result
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


def _limit(concurrency: int | None, settings: Settings) -> int:
    chosen = settings.batch.concurrency if concurrency is None else concurrency
    if chosen < 1:
        raise ValueError(f"concurrency must be at least 1, not {chosen}")
    return chosen


def _check_errors(errors: str) -> None:
    if errors not in ("raise", "return"):
        raise ValueError(f'errors must be "raise" or "return", not {errors!r}')


def _drain(loop: LoopThread, results: AsyncGenerator[Result, None]) -> Iterator[Result]:
    """The results, one at a time from the Auditor's loop; closing this closes them."""
    steps = _Steps(results)
    try:
        while (result := loop.run(steps.next())) is not None:
            yield result
    finally:
        if loop.running:
            loop.run(steps.close())


async def _relay(
    loop: LoopThread, results: AsyncGenerator[Result, None]
) -> AsyncGenerator[Result, None]:
    """The results, awaited from the caller's loop; closing this closes them."""
    steps = _Steps(results)
    try:
        while (result := await loop.arun(steps.next())) is not None:
            yield result
    finally:
        if loop.running:
            await loop.arun(steps.close())
