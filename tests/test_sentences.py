"""Numbered sentences: offsets into the body, numbering, parts of whole sentences."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.text.chunking import estimate_tokens, split_segments
from pipeline.text.sentences import numbered_text, segment, whole
from schemas.article import Article

WORDS = st.sampled_from(
    ["NATO", "said", "Mr.", "Rutte", "U.S.", "3.5%", "the", "war", "“Yes.”", "talks", "e.g."]
)
SENTENCE = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(WORDS, min_size=1, max_size=12),
    st.sampled_from([".", "!", "?", "", "..."]),
)
PARAGRAPH = st.builds(" ".join, st.lists(SENTENCE, min_size=1, max_size=5))


@settings(max_examples=150, deadline=None)
@given(st.lists(PARAGRAPH, min_size=1, max_size=5))
def test_offsets_cut_each_sentence_from_the_body_in_order(paragraphs: list[str]) -> None:
    article = Article(id="x", paragraphs=paragraphs)
    body = article.body
    found = segment(article)
    assert [s.id for s in found] == list(range(1, len(found) + 1))
    end = 0
    for s in found:
        assert body[s.start : s.end] == s.text and s.text == s.text.strip()
        assert s.start >= end  # in order, never overlapping
        end = s.end
        assert s.paragraph == body[: s.start].count("\n\n")
    # Nothing but whitespace is left between the sentences.
    covered = "".join(body[a.end : b.start] for a, b in pairwise(found))
    assert not covered.strip()
    assert not body[: found[0].start].strip() and not body[found[-1].end :].strip()


def test_abbreviations_and_quotes_do_not_split_sentences() -> None:
    article = Article(
        id="x",
        paragraphs=[
            "U.S. President Donald Trump met Mr. Rutte on Thursday. “Yes,” he said. It was 3.5 "
            "percent.",
            "A Heading Without A Full Stop",
        ],
    )
    texts = [s.text for s in segment(article)]
    assert texts == [
        "U.S. President Donald Trump met Mr. Rutte on Thursday.",
        "“Yes,” he said.",
        "It was 3.5 percent.",
        "A Heading Without A Full Stop",
    ]
    assert [s.heading for s in segment(article)] == [False, False, False, True]


def test_the_model_sees_numbers_and_paragraphs() -> None:
    article = Article(id="x", paragraphs=["One. Two.", "Three."])
    assert numbered_text(segment(article)) == "[1] One. [2] Two.\n\n[3] Three."
    assert [s.text for s in whole("One. Two.")] == ["One. Two."]


@settings(max_examples=100, deadline=None)
@given(st.lists(PARAGRAPH, min_size=1, max_size=8), st.integers(min_value=5, max_value=60))
def test_parts_hold_every_sentence_once_within_the_budget(
    paragraphs: list[str], budget: int
) -> None:
    segments = segment(Article(id="x", paragraphs=paragraphs))
    parts = split_segments(segments, budget)
    assert [s for part in parts for s in part] == segments
    for part in parts:
        assert part
        cost = sum(estimate_tokens(s.text) for s in part)
        assert cost <= budget or len(part) == 1


def test_a_part_ends_at_a_paragraph_break_when_one_falls_late_enough() -> None:
    # 17, 7 and 17 tokens: the second sentence would fit with the first, but the part is cut
    # where the second paragraph begins, past half the budget, so B and C stay together.
    paragraphs = ["A " * 30 + "end.", "B " * 10 + "end. " + "C " * 30 + "end."]
    segments = segment(Article(id="x", paragraphs=paragraphs))
    assert [estimate_tokens(s.text) for s in segments] == [17, 7, 17]
    parts = split_segments(segments, 35)
    assert [[s.id for s in p] for p in parts] == [[1], [2, 3]]
    assert [len(p) for p in split_segments(segments, 1000)] == [3]
