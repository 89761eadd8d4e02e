"""Report rendering: JSON round-trips, Markdown shows what an editor needs first."""

from __future__ import annotations

import re

from pipeline.report import segments, to_json, to_markdown
from schemas.report import ArticleReport
from tests.report_fixtures import small_report


def _section(md: str, title: str) -> str:
    """The text of one ``## title`` section."""
    return md.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_json_round_trips() -> None:
    report = small_report()
    assert ArticleReport.model_validate_json(to_json(report)) == report


def test_the_header_gives_the_article_and_the_counts() -> None:
    md = to_markdown(small_report())
    assert md.startswith("# Council approves budget; mayor expects savings\n")
    assert "| Original headline | Mayor’s Reckless Plan Will Ruin the Town! |" in md
    assert "| Overall slant | **slightly_slanted** |" in md
    assert "| Sentences | 7 (" in md
    assert "| Unsupported assertions | **4** |" in md
    assert "| Claims | 2 found, 2 assessed, **1 not supported by the article** |" in md
    assert "| Bias findings | 2 |" in md


def test_every_summary_bullet_shows_the_sentences_it_cites() -> None:
    report = small_report()
    summary = _section(to_markdown(report), "Summary")
    assert "- The council approved the budget on Monday. [s1]\n" in summary
    assert "- The mayor expects 5 percent savings. [s3, s2]\n" in summary


def test_unsupported_assertions_are_listed_in_ranked_order_with_text_and_why() -> None:
    report = small_report()
    section = _section(to_markdown(report), "Unsupported assertions")
    listed = [int(n) for n in re.findall(r"^\d+\. \*\*s(\d+)\*\*", section, flags=re.M)]
    assert listed == report.unsupported == [6, 5, 2, 4]
    for n in report.unsupported:
        s = report.sentence(n)
        item = f'**s{n}** {s.label.value} (score {s.score:.2f}): "{s.text}"\n   - why: {s.why}\n'
        assert item in section


def test_no_unsupported_assertions_says_so() -> None:
    report = small_report().model_copy(update={"unsupported": []})
    assert "None strong: every assertion" in _section(to_markdown(report), "Unsupported assertions")


def test_claims_show_verdict_quote_sentence_speaker_why_and_evidence() -> None:
    claims = _section(to_markdown(small_report()), "Claims and their support")
    assert "1. **supported (attributed)**: Claim 1: The mayor said" in claims
    assert '- quote (s3): "The mayor said the plan would cut costs by 5 percent."' in claims
    assert "(speaker: The mayor)" in claims
    assert "- why: named source 'The mayor' (score 0.90)" in claims
    assert '- evidence: "The mayor said the plan would cut costs by 5 percent."' in claims
    assert "2. **UNSUPPORTED**: Claim 2: Taxes rose 3% | a record." in claims


def test_bias_findings_headline_check_and_verdict() -> None:
    bias = _section(to_markdown(small_report()), "Bias and framing")
    assert bias.startswith("\nOverall: **slightly_slanted** (slant score 0.00;")
    assert '- **loaded_language** (medium, score 0.66), s2: "a <disaster>"' in bias
    assert "  - neutral: Critics say the budget hurts families." in bias
    headline = '- **clickbait_headline** (high, score 0.80), headline: "Reckless Plan Will Ruin'
    assert headline in bias
    assert bias.count("neutral:") == 1  # no rewording line for the finding without one
    assert '- "The plan will ruin the town": **not reported** in the body' in bias
    assert '- "The mayor has a plan": reported in s3: "The mayor said the plan' in bias
    assert "Neutral headline: Mayor says plan will cut costs; critics object" in bias


def test_the_sentences_table_has_one_row_per_sentence_with_escaped_pipes() -> None:
    report = small_report()
    rows = _section(to_markdown(report), "Sentences").strip().splitlines()[2:]
    assert [r.split(" | ")[0] for r in rows] == [f"| {s.id}" for s in report.sentences]
    assert "| 6 | fact_unsupported | 0.81 | Taxes rose 3% \\| a record. |" in rows
    assert all(r.count(" | ") == 3 for r in rows)


def test_long_sentences_are_clipped_in_the_table() -> None:
    report = small_report()
    long = report.sentences[0].model_copy(update={"text": "word " * 40})
    md = to_markdown(report.model_copy(update={"sentences": [long, *report.sentences[1:]]}))
    row = next(r for r in md.splitlines() if r.startswith("| 1 | fact_supported"))
    assert row.endswith("… |") and len(row.split(" | ")[3]) <= 82


def test_the_run_section_keeps_the_cost_table() -> None:
    md = to_markdown(small_report())
    assert "| bias | 2 | 0 | 100 | 10 | $0.0012 |" in md
    assert "| total | 3 | 0 | 400 | 40 | $0.0012 |" in md


def test_segments_cut_the_text_where_findings_begin_and_end_and_lose_nothing() -> None:
    text = "The mayor said the plan was a “disaster” for the town."
    parts = segments(text, [(1, 'a "disaster"'), (2, "the plan was a")])
    assert "".join(p.text for p in parts) == text
    assert [(p.text, p.findings) for p in parts if p.findings] == [
        ("the plan was ", [2]),
        ("a", [1, 2]),
        (" “disaster”", [1]),
    ]


def test_a_quote_not_found_in_its_text_marks_all_of_it() -> None:
    assert [(p.text, p.findings) for p in segments("Short.", [(3, "elsewhere")])] == [
        ("Short.", [3])
    ]
