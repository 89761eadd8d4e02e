"""Schemas validate quotes through the context; salvage mode drops bad items and records why."""

from __future__ import annotations

from typing import Any, cast

import pytest
from pydantic import ValidationError

from pipeline.quotes import ArticleQuotes
from schemas import BiasAssessment, ClaimList, Summary, SupportAssessment

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
        "attribution": "Critics said",
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


def _finding(kind: str, quote: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "quote": quote,
        "severity": "high",
        "explanation": "e",
        "neutral_rewording": "n",
    }


def _bias(*findings: dict[str, Any]) -> dict[str, Any]:
    return {
        "headline_claims": [],
        "neutral_headline": "Minister resigns",
        "findings": list(findings),
        "overall": "neutral",
        "assessment": "a",
    }


HEADLINE_TEXT = "Minister Flees Country!\n\n" + TEXT


def test_headline_claims_must_quote_the_body() -> None:
    context = {"quotes": ArticleQuotes(HEADLINE_TEXT), "headline": "Minister Flees Country!"}
    ok = {"assertion": "minister resigned", "body_quote": "The minister resigned on Monday"}
    parsed = BiasAssessment.model_validate(_bias() | {"headline_claims": [ok]}, context=context)
    assert parsed.headline_claims[0].body_quote == "The minister resigned on Monday"
    circular = {"assertion": "minister fled", "body_quote": "Minister Flees Country"}
    with pytest.raises(ValidationError, match="must come from the body, not from the headline"):
        BiasAssessment.model_validate(_bias() | {"headline_claims": [circular]}, context=context)


def test_attribution_needs_a_named_source() -> None:
    with pytest.raises(ValidationError, match="needs the attribution"):
        SupportAssessment.model_validate(
            {"verdicts": [_verdict(attribution=None)]}, context=_context(claim_count=1)
        )
    with pytest.raises(ValidationError, match="quote not found in the article"):
        SupportAssessment.model_validate(
            {"verdicts": [_verdict(attribution="the finance ministry said")]},
            context=_context(claim_count=1),
        )


def _summary(**fields: Any) -> dict[str, Any]:
    return {"neutral_title": "Minister resigns", "bullets": ["a", "b"], "paragraph": "p", **fields}


def test_summary_style_problems_are_recorded_not_reasked() -> None:
    context: dict[str, Any] = {"headline": "Minister Flees Country!"}
    Summary.model_validate(_summary(neutral_title="Minister gone!"), context=context)
    Summary.model_validate(_summary(neutral_title="minister flees country"), context=context)
    assert context["warnings"] == [
        "neutral_title: neutral_title must be a statement, not ! or ?",
        "neutral_title: neutral_title must not copy the original headline",
    ]
    clean: dict[str, Any] = {"headline": "Minister Flees Country!"}
    assert Summary.model_validate(_summary(), context=clean).neutral_title == "Minister resigns"
    assert "warnings" not in clean


def test_summary_style_problems_are_kept_with_a_warning_once_the_budget_is_spent() -> None:
    context: dict[str, Any] = {"drop_invalid": True}
    long = " ".join(["word"] * 130)
    summary = Summary.model_validate(_summary(paragraph=long), context=context)
    assert summary.paragraph == long
    assert context["warnings"] == ["paragraph: paragraph has 130 words; write at most 80"]


def test_repeated_quotes_are_a_validation_error_until_salvage() -> None:
    same = [_claim("The minister resigned on Monday"), _claim("the minister resigned on monday")]
    with pytest.raises(ValidationError, match="claim 2 repeats an earlier quote"):
        ClaimList.model_validate({"claims": same}, context=_context())
    salvaged = ClaimList.model_validate({"claims": same}, context=_context(drop_invalid=True))
    assert len(salvaged.claims) == 2  # the claims stage keeps the first of each quote


def test_style_rules_that_reask_raise_until_salvage() -> None:
    from pydantic import ValidationInfo

    from schemas.evidence import style_problem

    class Info:
        field_name = "f"

        def __init__(self, context: dict[str, Any] | None) -> None:
            self.context = context

    def check(context: dict[str, Any] | None) -> str:
        info = cast(ValidationInfo, Info(context))
        return str(style_problem("v", info, "too long"))

    with pytest.raises(ValueError, match="too long"):
        check({})
    salvage: dict[str, Any] = {"drop_invalid": True}
    assert check(salvage) == "v" and salvage["warnings"] == ["f: too long"]
    assert check(None) == "v"  # no context: a saved report is loaded as it is


def test_salvage_drops_a_headline_claim_whose_body_quote_is_invented() -> None:
    context = {
        "quotes": ArticleQuotes(HEADLINE_TEXT),
        "headline": "Minister Flees Country!",
        "drop_invalid": True,
    }
    claims = [
        {"assertion": "resigned", "body_quote": "The minister resigned on Monday"},
        {"assertion": "fled", "body_quote": "The minister boarded a night flight to Lisbon"},
    ]
    parsed = BiasAssessment.model_validate(_bias() | {"headline_claims": claims}, context=context)
    assert [c.assertion for c in parsed.headline_claims] == ["resigned"]
    assert len(context["dropped"]) == 1
