"""Alignment checks: altered statements are flagged, faithful paraphrases are not."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.signals.alignment import FEATURE_NAMES, alignment_signals, explain, feature_vector
from pipeline.text.lexical import find_dates, find_numbers, split_sentences

EVIDENCE = (
    "Barack Obama visited London on Tuesday, March 5, 2019, his first trip since 2016. "
    "The U.S. president said 1,000 workers had not been paid for two months. "
    "Inflation rose to 5 per cent last year, costing the economy $2m, the Bank of England said. "
    "Three officers were hurt in the clashes near Westminster. "
    "France's Dubuisson carded a 67 to tie with Van Zyl of South Africa. "
    "Chelsea manager José Mourinho watched from the stands.\n"
    "Mayor Sadiq Khan said the city had failed to prepare."
)

SUPPORTED = [
    "Obama visited London on Tuesday.",  # surname after the full name
    "Barack Obama's visit to London came in March 2019.",  # possessive, month + year
    "The US president said 1000 workers had not been paid for 2 months.",  # US, 1000, 2
    "Obama said one thousand workers had not been paid.",  # number words with a multiplier
    "Inflation rose to 5%, costing the economy 2 million dollars.",  # % and $2m
    "3 officers were hurt near Westminster.",  # digit for a number word
    "Dubuisson tied with Van Zyl.",
    "Jose Mourinho watched the match.",  # diacritics
    "The president's trip to London on March 5 was his first since 2016.",
    "Khan said the city failed to prepare.",  # same negation
    "The United States president said workers were not paid.",  # alias of U.S.
    "obama visited london on tuesday.",  # lowercased statement
]


@pytest.mark.parametrize("statement", SUPPORTED)
def test_faithful_paraphrases_are_not_flagged(statement: str) -> None:
    signals = alignment_signals(statement, EVIDENCE)
    assert explain(signals) == []
    assert signals.flags == 0


@pytest.mark.parametrize(
    "statement",
    [
        "Police said the man, 34, was arrested.",  # sentence-initial common word
        "The Prime Minister said the Government would act.",  # titles, capitalised common word
        "On Monday, a man was arrested.",
    ],
)
def test_capitalised_common_words_are_not_names(statement: str) -> None:
    evidence = (
        "A 34-year-old man was arrested on Monday, police said. May said the government would act."
    )
    assert explain(alignment_signals(statement, evidence)) == []


ALTERED = [
    ("The U.S. president said 2,000 workers had not been paid.", "numbers_missing", "2,000"),
    ("Four officers were hurt in the clashes.", "numbers_missing", "Four"),
    ("Inflation rose to 6 per cent last year.", "numbers_missing", "6 per cent"),
    ("Inflation cost the economy $3m.", "numbers_missing", "$3m"),
    ("Obama visited London on Wednesday.", "dates_missing", "wednesday"),
    ("Obama visited London in 2018.", "dates_missing", "2018"),
    ("Obama visited London on March 6.", "dates_missing", "march 6"),
    ("Obama visited London in May.", "dates_missing", "may"),
    ("Obama visited Paris on Tuesday.", "names_missing", "Paris"),
    ("Michelle Obama visited London.", "names_missing", "Michelle Obama"),
    ("Boris Johnson visited London.", "names_missing", "Boris Johnson"),
    ("Mayor Sadiq Malik said the city had failed to prepare.", "names_missing", "Sadiq Malik"),
    ("michelle obama visited london.", "names_missing", "michelle obama"),  # lowercased
    ("The U.S. president said 1,000 workers had been paid.", "negation_cues", "evidence: not"),
    ("Three officers were not hurt in the clashes.", "negation_cues", "statement: not"),
    ("Obama never visited London on Tuesday.", "negation_cues", "statement: never"),
    ("Khan said the city prepared.", "negation_cues", "evidence: failed"),
    ("Three officers were hurt in the clashes near Westminster in 2016.", "misplaced", "2016"),
]


@pytest.mark.parametrize(("statement", "field", "token"), ALTERED)
def test_altered_statements_are_flagged_with_the_offending_text(
    statement: str, field: str, token: str
) -> None:
    signals = alignment_signals(statement, EVIDENCE)
    assert token in getattr(signals, field)
    others = {"numbers_missing", "dates_missing", "names_missing", "negation_cues", "misplaced"}
    assert all(getattr(signals, f) == () for f in others - {field}), explain(signals)


def test_flags_and_counts_follow_the_findings() -> None:
    signals = alignment_signals("Michelle Obama visited Paris in 2018 and 2017.", EVIDENCE)
    assert signals.names_missing == ("Michelle Obama", "Paris")
    assert signals.dates_missing_count == 2
    assert signals.flags == 2
    assert "the evidence never mentions the date 2018" in explain(signals)


def test_feature_vector_follows_feature_names() -> None:
    signals = alignment_signals("Obama visited London in 2018.", EVIDENCE)
    features = dict(zip(FEATURE_NAMES, feature_vector(signals), strict=True))
    assert features["dates_missing"] == 1.0
    assert features["dates_missing_count"] == 1.0
    assert features["numbers_missing"] == features["names_missing"] == 0.0
    assert features["negation_mismatch"] == 0.0
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)


def test_novel_content_ratio_counts_content_words_only() -> None:
    assert alignment_signals("Obama visited London.", EVIDENCE).novel_content_ratio == 0.0
    signals = alignment_signals("Obama bombed London.", EVIDENCE)
    assert signals.novel_words == ("bombed",)
    assert signals.novel_content_ratio == pytest.approx(1 / 3)
    assert feature_vector(signals)[FEATURE_NAMES.index("novel_content_ratio")] > 0


def test_negation_far_from_the_shared_words_is_not_a_mismatch() -> None:
    evidence = "Smith did not specify his injury, but he will miss the rest of the season."
    assert not alignment_signals("Smith will miss the rest of the season.", evidence).flags


def test_empty_inputs_give_neutral_or_fully_unsupported_signals() -> None:
    assert feature_vector(alignment_signals("", EVIDENCE)) == [0.0] * len(FEATURE_NAMES)
    signals = alignment_signals("Obama visited London in 2018.", "")
    assert signals.best_sentence_coverage == 0.0
    assert signals.novel_content_ratio == 1.0
    assert signals.names_missing == ("London",)  # a lone sentence-initial word may be common
    assert signals.dates_missing == ("2018",)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("$2m and 2 million and 2,000,000", [2e6, 2e6, 2e6]),
        ("5 per cent, 5% and five percent", [5, 5, 5]),
        ("twenty-five people and two hundred", [25, 200]),
        ("the 21st time, the third", [21, 3]),
        ("at 6.15pm", [6.15]),
    ],
)
def test_numbers_are_read_with_their_values(text: str, values: list[float]) -> None:
    assert [v for _, v in find_numbers(text)] == values


def test_dates_are_canonical_and_not_read_again_as_numbers() -> None:
    dates, masked = find_dates("On 5 March 2019, a Monday, they may march.")
    assert dates == ["march 5", "2019", "monday"]
    assert find_numbers(masked) == []


def test_sentences_do_not_split_after_abbreviations() -> None:
    text = "Mr. Smith met U.S. officials. They left.\nNext"
    assert split_sentences(text) == ["Mr. Smith met U.S. officials.", "They left.", "Next"]


# --- properties -------------------------------------------------------------------------------

VOCABULARY = (
    "the of officers were hurt visited said never not had been London Obama Khan Van Zyl March "
    "may Tuesday 2019 1,000 5% $2m two twenty-five third 67 paid workers near U.S. and José"
)


def _sentence(words: list[str]) -> str:
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


SENTENCE = st.lists(st.sampled_from(VOCABULARY.split()), min_size=3, max_size=10).map(_sentence)


@settings(max_examples=150, deadline=None)
@given(st.lists(SENTENCE, min_size=1, max_size=5), st.data())
def test_a_verbatim_sentence_of_the_evidence_is_never_flagged(
    sentences: list[str], data: st.DataObject
) -> None:
    evidence = " ".join(sentences)
    statement = data.draw(st.sampled_from(sentences))
    signals = alignment_signals(statement, evidence)
    assert explain(signals) == []
    assert signals.novel_content_ratio == 0.0
    assert signals.best_sentence_coverage == 1.0


@settings(max_examples=100, deadline=None)
@given(st.lists(SENTENCE, min_size=1, max_size=5), st.integers(10_000, 9_999_999), st.data())
def test_a_number_the_evidence_lacks_is_always_flagged(
    sentences: list[str], number: int, data: st.DataObject
) -> None:
    statement = data.draw(st.sampled_from(sentences))[:-1] + f" with {number} people."
    signals = alignment_signals(statement, " ".join(sentences))
    assert str(number) in signals.numbers_missing
