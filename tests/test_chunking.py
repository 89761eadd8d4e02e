"""Articles longer than one call: split without losing a character, audited part by part."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.chunking import merge_bias, split_article, split_text
from pipeline.config import Settings
from pipeline.errors import InputError
from pipeline.ingest import RawDocument
from pipeline.llm import LLM
from pipeline.run import audit
from schemas.article import Article
from schemas.bias import BiasAssessment
from tests.fake_server import PARAGRAPH, FakeServer

TEXT = st.text(alphabet=st.sampled_from(list("abc xyz.!?\n\té“\u00a0")), max_size=600)


@given(text=TEXT, limit=st.integers(min_value=1, max_value=120))
@settings(max_examples=300, deadline=None)
def test_parts_join_back_to_the_text_and_respect_the_limit(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert "".join(pieces) == text
    assert all(len(p) <= limit for p in pieces)
    assert all(pieces) or pieces == [""]


def test_cuts_prefer_paragraph_breaks_then_sentence_ends() -> None:
    first, second = "A" * 90 + ".", "B" * 90 + ". " + "C" * 50 + "."
    pieces = split_text(f"{first}\n\n{second}", 120)
    assert pieces[0] == f"{first}\n\n"
    assert pieces[1] == "B" * 90 + ". " and pieces[2] == "C" * 50 + "."


def _long_doc(paragraphs: int) -> RawDocument:
    body = "\n\n".join(PARAGRAPH.format(town=f"Town{i}", n=i + 2) for i in range(paragraphs))
    return RawDocument(
        id="long", source="long.txt", kind="text", content=f"Councils Approve Budgets\n\n{body}"
    )


def _settings(server: FakeServer, **values: object) -> Settings:
    return Settings(model="openai/fake-model", api_base=server.base_url, **values)  # type: ignore[arg-type]


def test_a_long_article_is_audited_in_parts_and_merged() -> None:
    doc = _long_doc(12)  # about 760 estimated tokens of body
    fake = FakeServer()
    with fake.running():
        config = _settings(fake, max_chunk_tokens=200, max_chunks=10)
        llm = LLM(config, model=config.model, api_base=config.api_base)
        report = asyncio.run(audit(doc, llm=llm, settings=config))
    parts = len(split_article(report.article, 200))
    assert parts >= 4
    calls = {s.stage: s.calls for s in report.stages}
    assert calls == {
        "clean": 0,
        "summarize": parts,
        "claims": parts,
        "support": parts,
        "bias": parts,
    }
    clean = report.stages[0]
    assert any(f"in {parts} parts" in w for w in clean.warnings)
    # Claims come from every part, numbered across the article, each with its verdict.
    towns = {
        c.claim.quote.split("of ")[1].split(" ")[0]
        for c in report.claims
        if c.claim.quote.startswith("The city council of")
    }
    assert len(towns) >= parts
    assert all(c.verdict is not None for c in report.claims)
    text = " ".join(report.article.text.split())
    assert all(" ".join(c.claim.quote.split()) in text for c in report.claims)


def test_an_article_over_the_cap_is_refused_naming_it() -> None:
    fake = FakeServer()
    with fake.running():
        config = _settings(fake, max_chunk_tokens=200, max_chunks=2)
        llm = LLM(config, model=config.model, api_base=config.api_base)
        with pytest.raises(InputError, match=r"long\.txt: article too long: .* max_chunks=2"):
            asyncio.run(audit(_long_doc(12), llm=llm, settings=config))
    assert not fake.bodies  # refused before any call


def test_a_short_article_is_one_part() -> None:
    article = Article(id="a", title="T", paragraphs=["One short paragraph of text here."])
    assert split_article(article, 200) == [article]


def _bias(mismatch: bool) -> BiasAssessment:
    finding = {
        "kind": "headline_body_mismatch",
        "quote": "Headline",
        "severity": "high",
        "explanation": "e",
        "neutral_rewording": "n",
    }
    loaded = {**finding, "kind": "loaded_language", "quote": "scandal"}
    return BiasAssessment.model_validate(
        {
            "headline_claims": [],
            "neutral_headline": "n",
            "findings": [finding, loaded] if mismatch else [loaded],
            "overall": "slightly_slanted" if mismatch else "strongly_slanted",
            "assessment": "a",
        }
    )


def test_a_headline_mismatch_survives_only_if_no_part_reports_the_headline() -> None:
    merged = merge_bias([_bias(True), _bias(True)])
    assert [f.kind.value for f in merged.findings].count("headline_body_mismatch") == 1
    merged = merge_bias([_bias(True), _bias(False)])
    assert "headline_body_mismatch" not in [f.kind.value for f in merged.findings]
    assert len(merged.findings) == 2  # both parts' loaded language
    assert merged.overall.value == "strongly_slanted"
