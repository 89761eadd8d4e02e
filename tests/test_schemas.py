"""Schemas: sentence numbers checked through the validation context, salvage, style rules."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from schemas.bias import BiasDraft
from schemas.claims import ClaimPicks
from schemas.sentence import UNSUPPORTED_LABELS, SentenceLabel
from schemas.summary import SummaryDraft
from schemas.support import SentenceJudgments


def _context(**extra: Any) -> dict[str, Any]:
    return {"sentence_ids": {1, 2, 3}, **extra}


def test_a_sentence_number_the_model_was_not_shown_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="sentence 7 is not a sentence number"):
        ClaimPicks.model_validate({"claims": [{"sentence": 7, "claim": "x"}]}, context=_context())


def test_salvage_mode_drops_only_the_bad_item_and_records_it() -> None:
    context = _context(drop_invalid=True)
    picks = ClaimPicks.model_validate(
        {"claims": [{"sentence": 2, "claim": "kept"}, {"sentence": 9, "claim": "dropped"}]},
        context=context,
    )
    assert [p.claim for p in picks.claims] == ["kept"]
    assert context["dropped"] == [
        {
            "field": "claims",
            "reason": "Value error, sentence 9 is not a sentence number of the article (1..3)",
        }
    ]


def test_without_context_sentence_numbers_are_taken_as_checked() -> None:
    picks = ClaimPicks.model_validate({"claims": [{"sentence": 42, "claim": "saved earlier"}]})
    assert picks.claims[0].sentence == 42


def test_a_sentence_picked_twice_is_an_error_until_salvage() -> None:
    twice = {"claims": [{"sentence": 1, "claim": "a"}, {"sentence": 1, "claim": "b"}]}
    with pytest.raises(ValidationError, match="sentence 1 is picked twice"):
        ClaimPicks.model_validate(twice, context=_context())
    salvaged = ClaimPicks.model_validate(twice, context=_context(drop_invalid=True))
    assert len(salvaged.claims) == 2  # the stage keeps the first


def test_summary_style_problems_are_recorded_not_reasked() -> None:
    context = _context(headline="Minister Quits!")
    draft = SummaryDraft.model_validate(
        {
            "points": [
                {"text": "The minister resigned.", "sentences": [1]},
                {"text": " ".join(["word"] * 40), "sentences": [2, 3]},
            ],
            "neutral_title": "Minister Quits!",
        },
        context=context,
    )
    assert draft.neutral_title == "Minister Quits!"
    warnings = context["warnings"]
    assert any(w.startswith("neutral_title:") for w in warnings)
    assert any(w.startswith("text: point has 40 words") for w in warnings)


def test_a_point_must_cite_one_to_three_sentences() -> None:
    for cited in ([], [1, 2, 3, 1]):
        with pytest.raises(ValidationError):
            SummaryDraft.model_validate(
                {"points": [{"text": "a", "sentences": cited}] * 2, "neutral_title": "t"},
                context=_context(),
            )


def test_a_rewording_of_an_unknown_sentence_is_dropped_in_salvage() -> None:
    context = _context(drop_invalid=True)
    draft = BiasDraft.model_validate(
        {
            "neutral_headline": "n",
            "rewordings": [{"sentence": 2, "neutral": "kept"}, {"sentence": 5, "neutral": "x"}],
        },
        context=context,
    )
    assert [r.neutral for r in draft.rewordings] == ["kept"]
    assert [d["field"] for d in context["dropped"]] == ["rewordings"]


def test_judgments_keep_the_valid_items_in_salvage() -> None:
    context = _context(drop_invalid=True)
    result = SentenceJudgments.model_validate(
        {"judgments": [{"sentence": 1, "kind": "opinion"}, {"sentence": 4, "kind": "fact"}]},
        context=context,
    )
    assert [j.sentence for j in result.judgments] == [1]


def test_the_unsupported_labels_are_the_four_an_editor_must_see() -> None:
    unsupported = {label.value for label in SentenceLabel if label.unsupported}
    assert (
        unsupported
        == set(UNSUPPORTED_LABELS)
        == {
            "fact_unsupported",
            "opinion",
            "speculation",
            "attributed_unnamed",
        }
    )
