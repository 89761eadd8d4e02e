"""Verbatim quotes checked against the article through the pydantic validation context.

The context (built by the pipeline per call) carries:
- ``quotes``: an object with ``verify(quote) -> str`` that returns the article's own span for the
  quote (snapping near misses) or raises ``ValueError``;
- ``drop_invalid``: when true, list items that fail validation are dropped and recorded in
  ``dropped`` instead of failing the whole response (used once the re-ask budget is spent).
Without a context (e.g. loading a saved report) quotes are taken as already verified.
"""

from __future__ import annotations

from typing import Annotated, Any, Protocol

from pydantic import AfterValidator, ValidationError, ValidationInfo, ValidatorFunctionWrapHandler


class QuoteVerifier(Protocol):
    """What the validation context must provide under the key ``quotes``."""

    def verify(self, quote: str) -> str: ...


def _check_quote(value: str, info: ValidationInfo) -> str:
    verifier = (info.context or {}).get("quotes")
    if verifier is None:
        return value
    return str(verifier.verify(value))


Quote = Annotated[str, AfterValidator(_check_quote)]
"""A string that must occur in the article (whitespace, quote marks and case normalised)."""


def keep_valid_items(
    items: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
) -> list[Any]:
    """Wrap validator for item lists: strict by default, drop-and-record in salvage mode."""
    context = info.context or {}
    if not context.get("drop_invalid") or not isinstance(items, list):
        return list(handler(items))
    kept: list[Any] = []
    for item in items:
        try:
            kept.extend(handler([item]))
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"]
            context.setdefault("dropped", []).append({"field": info.field_name, "reason": reason})
    return kept


def same_text(a: str, b: str) -> bool:
    """Equal after casefolding, collapsing whitespace and dropping end punctuation."""

    def plain(text: str) -> str:
        return " ".join(text.casefold().replace("’", "'").split()).strip(" !?.")

    return plain(a) == plain(b)


def style_problem(value: Any, info: ValidationInfo, problem: str, *, reask: bool = True) -> Any:
    """Re-ask (if ``reask``) while the budget lasts; then keep the value and record a warning.

    Style rules (neutral wording, length) bind the model, not saved reports: without a
    validation context they do not apply. Minor ones pass ``reask=False``: with a small local
    model a re-ask costs a minute, so they are only recorded.
    """
    context = info.context
    if context is None:
        return value
    if reask and not context.get("drop_invalid"):
        raise ValueError(problem)
    context.setdefault("warnings", []).append(f"{info.field_name}: {problem}")
    return value


def _check_sentence(value: int, info: ValidationInfo) -> int:
    known = (info.context or {}).get("sentence_ids")
    if known is not None and value not in known:
        shown = f"{min(known)}..{max(known)}" if known else "none"
        raise ValueError(f"sentence {value} is not a sentence number of the article ({shown})")
    return value


SentenceRef = Annotated[int, AfterValidator(_check_sentence)]
"""A sentence number that must be one the model was shown (checked through the context)."""
