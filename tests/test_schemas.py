"""Schemas validate quotes through the context; salvage mode drops bad items and records why."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from pipeline.quotes import ArticleQuotes
from schemas import ClaimList, SupportAssessment

TEXT = "The minister resigned on Monday. Critics said the budget was a disaster for families."


def _claim(quote: str) -> dict[str, Any]:
    return {"claim": "c", "quote": quote, "speaker": None, "type": "reported_fact"}


def _context(**extra: Any) -> dict[str, Any]:
    return {"quotes": ArticleQuotes(TEXT), **extra}


def test_invented_quote_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="quote not found in the article"):
        ClaimList.model_validate(
            {"claims": [_claim("The minister resigned on Monday"), _claim("He fled abroad")]},
            context=_context(),
        )


def test_salvage_mode_drops_only_the_bad_item_and_records_it() -> None:
    context = _context(drop_invalid=True)
    result = ClaimList.model_validate(
        {"claims": [_claim("the minister resigned on monday"), _claim("He fled abroad")]},
        context=context,
    )
    assert [c.quote for c in result.claims] == ["The minister resigned on Monday"]
    assert len(context["dropped"]) == 1
    assert "He fled abroad" in context["dropped"][0]["reason"]


def test_without_context_quotes_are_taken_as_already_verified() -> None:
    assert ClaimList.model_validate({"claims": [_claim("anything")]}).claims[0].quote == "anything"


def _verdict(**fields: Any) -> dict[str, Any]:
    base = {
        "claim_id": 1,
        "source_in_article": None,
        "rationale": "r",
        "verdict": "supported_by_attribution",
        "evidence": ["Critics said the budget was a disaster"],
    }
    return {**base, **fields}


def test_supported_verdict_needs_evidence() -> None:
    with pytest.raises(ValidationError, match="needs at least one evidence quote"):
        SupportAssessment.model_validate(
            {"verdicts": [_verdict(evidence=[])]}, context=_context(claim_count=1)
        )


def test_verdict_for_an_unknown_claim_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"claim_id 3 is not a claim number \(1..2\)"):
        SupportAssessment.model_validate(
            {"verdicts": [_verdict(claim_id=3)]}, context=_context(claim_count=2)
        )


def test_unsupported_verdict_may_cite_nothing() -> None:
    result = SupportAssessment.model_validate(
        {"verdicts": [_verdict(verdict="unsupported", evidence=[])]},
        context=_context(claim_count=1),
    )
    assert not result.verdicts[0].verdict.supported
