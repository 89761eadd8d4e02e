"""Quote verification: normalised matching, near-miss snapping, and nothing unverified accepted."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.text.quotes import ArticleQuotes, normalize

TEXT = (
    "NATO’s chief said:  “It’s normal if the war would have stopped, step by step.”\n\n"
    "Critics called the move a betrayal of Ukraine."
)


def test_normalize_maps_back_to_original_indices() -> None:
    norm, index = normalize("A  “Big”\nDeal")
    assert norm == 'a "big" deal'
    assert len(index) == len(norm)
    assert index[2] == 3  # the opening curly quote


@pytest.mark.parametrize(
    "quote",
    [
        "It's normal if the war would have stopped, step by step.",  # straight apostrophe
        "NATO's chief said: \"It's normal",  # straight quotes, single space
        "critics called the move a betrayal of ukraine",  # case
    ],
)
def test_normalised_quotes_verify_to_the_articles_own_span(quote: str) -> None:
    quotes = ArticleQuotes(TEXT)
    span = quotes.verify(quote)
    assert span in TEXT
    assert normalize(span)[0].strip(" .") == normalize(quote)[0].strip(" .")
    assert quotes.stats.repaired == []


def test_near_miss_is_snapped_and_counted() -> None:
    quotes = ArticleQuotes(TEXT)
    span = quotes.verify("Critics called the move a betrayal of the Ukraine")
    assert span in TEXT
    assert span.startswith("Critics called the move a betrayal")
    assert len(quotes.stats.repaired) == 1


def test_invented_quote_is_rejected_with_the_quote_named() -> None:
    quotes = ArticleQuotes(TEXT)
    with pytest.raises(ValueError, match="quote not found in the article: 'Rutte resigned"):
        quotes.verify("Rutte resigned after the meeting in Brussels")
    assert quotes.stats.rejected == ["Rutte resigned after the meeting in Brussels"]


def test_cyrillic_lookalikes_never_pass_as_themselves() -> None:
    quotes = ArticleQuotes(TEXT, snap_threshold=100)
    with pytest.raises(ValueError):
        quotes.verify("Critics called the mоve a betrayal of Ukrаine")  # Cyrillic о and а


def test_short_quotes_are_not_fuzzily_snapped() -> None:
    with pytest.raises(ValueError):
        ArticleQuotes(TEXT).verify("step by stop")


@settings(max_examples=200, deadline=None)
@given(text=st.text(min_size=1, max_size=300), quote=st.text(min_size=1, max_size=60))
def test_whatever_verifies_is_in_the_text(text: str, quote: str) -> None:
    quotes = ArticleQuotes(text)
    try:
        span = quotes.verify(quote)
    except ValueError:
        return
    assert span in text


@settings(max_examples=200, deadline=None)
@given(data=st.data(), text=st.text(min_size=1, max_size=300))
def test_every_substring_of_the_text_verifies(data: st.DataObject, text: str) -> None:
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    piece = text[start:end]
    if not normalize(piece)[0].strip(" .,;:"):
        return
    assert ArticleQuotes(text).verify(piece) in text


def test_snapped_spans_are_whole_words() -> None:
    text = "Rutte’s predecessor Jens Stoltenberg made a bombshell admission in a 2023 speech."
    span = ArticleQuotes(text).verify("predecesor Jens Stoltenberg made a bombshell admision")
    assert span.startswith("predecessor Jens") and span.endswith("admission")
