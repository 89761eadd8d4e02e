"""Articles longer than one call: audited in parts of whole sentences, numbered across the
article, each stage merging its parts' outputs."""

from __future__ import annotations

import asyncio

import pytest

from pipeline.core.config import JudgmentSettings, Settings
from pipeline.core.errors import InputError
from pipeline.model.llm import LLM
from pipeline.stages.bias import merge_bias
from pipeline.text.chunking import split_segments
from pipeline.text.ingest import RawDocument
from pipeline.text.sentences import segment
from schemas.bias import BiasAssessment, BiasFinding, BiasKind, Severity, Slant
from tests.fake_server import PARAGRAPH, FakeServer


def _long_doc(paragraphs: int) -> RawDocument:
    body = "\n\n".join(PARAGRAPH.format(town=f"Town{i}", n=i + 2) for i in range(paragraphs))
    return RawDocument(
        id="long", source="long.txt", kind="text", content=f"Councils Approve Budgets\n\n{body}"
    )


def _settings(server: FakeServer, **values: object) -> Settings:
    # One judgment call per part (the hosted way), so every stage makes one call per part.
    return Settings(
        model="openai/fake-model",
        api_base=server.base_url,
        judgments=JudgmentSettings(model_signal="batch"),
        **values,  # type: ignore[arg-type]
    )


def test_a_long_article_is_audited_in_parts_and_merged() -> None:
    from pipeline.run import audit

    doc = _long_doc(12)  # about 760 estimated tokens of body
    fake = FakeServer()
    with fake.running():
        config = _settings(fake, max_chunk_tokens=200, max_chunks=10)
        llm = LLM(config, model=config.model, api_base=config.api_base)
        report = asyncio.run(audit(doc, llm=llm, settings=config))
    parts = len(split_segments(segment(report.article), 200))
    assert parts >= 4
    calls = {s.stage: s.calls for s in report.stages}
    assert calls == {
        "clean": 0,
        "summarize": parts,
        "claims": parts,
        "support": parts,
        "summary_check": 0,  # a hosted provider's summary is checked without a call
        "bias": parts,
    }
    assert any(f"in {parts} parts" in w for w in report.stages[0].warnings)
    # Sentences are numbered across the whole article; each part's prompt shows its own.
    assert [s.id for s in report.sentences] == list(range(1, len(report.sentences) + 1))
    prompts = [b["messages"][-1]["content"] for b in fake.bodies]
    last = report.sentences[-1]
    assert sum(f"[{last.id}] {last.text}" in p for p in prompts) == 4  # its part's four calls
    # Claims come from every part, each quoting its sentence exactly.
    towns = {
        c.claim.quote.split("of ")[1].split(" ")[0]
        for c in report.claims
        if c.claim.quote.startswith("The city council of")
    }
    assert len(towns) >= parts
    assert all(c.claim.quote == report.sentence(c.claim.sentence).text for c in report.claims)


def test_an_article_over_the_cap_is_refused_naming_it() -> None:
    from pipeline.run import audit

    fake = FakeServer()
    with fake.running():
        config = _settings(fake, max_chunk_tokens=200, max_chunks=2)
        llm = LLM(config, model=config.model, api_base=config.api_base)
        with pytest.raises(InputError, match=r"long\.txt: article too long: .* max_chunks=2"):
            asyncio.run(audit(_long_doc(12), llm=llm, settings=config))
    assert not fake.bodies  # refused before any call


def _bias(mismatch: bool) -> BiasAssessment:
    def finding(kind: BiasKind, sentence: int | None) -> BiasFinding:
        return BiasFinding(
            kind=kind,
            quote="q",
            sentence=sentence,
            severity=Severity.high,
            score=0.9,
            explanation="e",
        )

    findings = [finding(BiasKind.loaded_language, 7)]
    if mismatch:
        findings.insert(0, finding(BiasKind.headline_body_mismatch, None))
    slant = Slant.slightly_slanted if mismatch else Slant.strongly_slanted
    return BiasAssessment(findings=findings, overall=slant, assessment="a")


def test_a_headline_mismatch_survives_only_if_no_part_reports_the_headline() -> None:
    merged = merge_bias([_bias(True), _bias(True)])
    assert [f.kind.value for f in merged.findings].count("headline_body_mismatch") == 1
    merged = merge_bias([_bias(True), _bias(False)])
    assert "headline_body_mismatch" not in [f.kind.value for f in merged.findings]
    assert len(merged.findings) == 2  # both parts' loaded language
    assert merged.overall.value == "strongly_slanted"
