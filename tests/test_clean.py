"""The clean stage: boilerplate rules, metadata, HTML through trafilatura, input errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.errors import InputError
from pipeline.stages.clean import clean, is_boilerplate, is_prose, iso_date
from pipeline.text.ingest import RawDocument, read_document
from tests.conftest import SEEDS, SEEDS_DIR


def _norm(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("seed", SEEDS)
def test_gold_boilerplate_never_reaches_the_stages(seed: str, gold: dict[str, Any]) -> None:
    article = clean(read_document(str(SEEDS_DIR / seed)))
    body = _norm(article.body)
    for line in gold["articles"][seed]["boilerplate"]:
        assert _norm(line) not in body, line
        assert _norm(line) not in _norm(article.title or "")


@pytest.mark.parametrize("seed", SEEDS)
def test_no_body_paragraph_of_a_seed_is_lost(seed: str, gold: dict[str, Any]) -> None:
    article = clean(read_document(str(SEEDS_DIR / seed)))
    text = _norm(article.text)
    boilerplate = [_norm(b) for b in gold["articles"][seed]["boilerplate"]]
    for raw in (SEEDS_DIR / seed).read_text(encoding="utf-8").splitlines():
        line = _norm(raw)
        if len(line.split()) < 8 or any(b in line for b in boilerplate):
            continue
        tail = " ".join(line.split()[-8:])  # a leading "date ..." prefix is metadata, not body
        assert tail in text, line


def test_seed_metadata_is_extracted() -> None:
    a000 = clean(read_document(str(SEEDS_DIR / "000_3e70e7dff98cf2b9.txt")))
    assert a000.title is not None and a000.title.startswith("NATO’s Shocking Shift")
    assert a000.published == "2025-03-14"
    a001 = clean(read_document(str(SEEDS_DIR / "001_13955f156448d006.txt")))
    assert a001.title is not None and a001.title.startswith("Mark Rutte Confirms")
    assert a001.paragraphs[0].startswith("More setbacks for Zelensky")
    assert a001.byline is None  # "by admin" names nobody
    a003 = clean(read_document(str(SEEDS_DIR / "003_e3a3cb5d0a2c9bc6.txt")))
    assert a003.published == "2025-03-14"
    assert a003.paragraphs[0].startswith("In fresh comments NATO Secretary General")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Share this article", True),
        ("Follow us on Facebook for more", True),
        ("Related Articles", True),
        ("12 Comments", True),
        ("•", True),
        ("03:15", True),
        ("Rutte said the alliance would follow us on this path.", False),
        ("Background on NATO and Ukraine", False),
    ],
)
def test_boilerplate_rules(line: str, expected: bool) -> None:
    assert is_boilerplate(line) is expected


def test_prose_and_dates() -> None:
    assert is_prose("The minister said the talks would resume in the spring.")
    assert not is_prose("Click here to continue reading the article")
    assert iso_date("March 14, 2025") == "2025-03-14"
    assert iso_date("14 March 2025") == "2025-03-14"
    assert iso_date("sometime soon") == "sometime soon"


def test_html_goes_through_trafilatura() -> None:
    paragraphs = "".join(
        f"<p>Paragraph {i} of the report says the council voted on the new budget plan today.</p>"
        for i in range(6)
    )
    html = (
        "<html><head><title>Council passes budget</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        f"<article><h1>Council passes budget</h1>{paragraphs}</article>"
        "<footer>Subscribe to our newsletter. All rights reserved.</footer></body></html>"
    )
    article = clean(RawDocument(id="x", source="x.html", kind="html", content=html))
    assert article.title == "Council passes budget"
    assert "Paragraph 5 of the report" in article.body
    assert "newsletter" not in article.body.lower()
    assert "Home" not in article.paragraphs


def test_html_without_an_article_body_is_an_input_error() -> None:
    html = "<html><body><nav><a href='/'>Home</a></nav></body></html>"
    with pytest.raises(InputError, match=r"page\.html: HTML page has no article body"):
        clean(RawDocument(id="p", source="page.html", kind="html", content=html))


def test_title_without_body_is_an_input_error() -> None:
    doc = RawDocument(id="t", source="t.txt", kind="text", content="Big News Today!\n\nShare\n")
    with pytest.raises(InputError, match=r"t\.txt: a title but no body"):
        clean(doc)


def test_a_dateline_on_its_own_is_the_date_not_a_paragraph() -> None:
    doc = RawDocument(
        id="d",
        source="d.txt",
        kind="text",
        content="Council Approves Budget\n\n14 March 2026\n\n"
        "The council approved the budget on Tuesday after a long debate in the chamber.",
    )
    article = clean(doc)
    assert article.published == "2026-03-14"
    assert article.paragraphs == [
        "The council approved the budget on Tuesday after a long debate in the chamber."
    ]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (
            "Der Stadtrat hat am Dienstag mit großer Mehrheit beschlossen, die Wasserpreise "
            "im Juli um achtzehn Prozent zu erhöhen, wie die Verwaltung mitteilte.",
            "de",
        ),
        (
            "El ayuntamiento aprobó el martes una subida del dieciocho por ciento en el precio "
            "del agua, según informó el tesorero municipal en la sesión plenaria.",
            "es",
        ),
    ],
)
def test_an_article_in_another_language_is_cleaned_and_its_language_recorded(
    text: str, code: str
) -> None:
    article = clean(RawDocument(id="x", source="x.txt", kind="text", content=text))
    assert article.paragraphs == [text]
    assert article.language == code and (article.language_confidence or 0) > 0.9


def test_the_seeds_are_detected_as_english() -> None:
    for seed in SEEDS:
        assert clean(read_document(str(SEEDS_DIR / seed))).language == "en"


@given(
    text=st.text(max_size=800)
    | st.lists(
        st.sampled_from(
            [
                "Home » News",
                "By Staff",
                "Subscribe to our newsletter",
                "2026-03-14",
                "The council approved the budget on Tuesday after a long debate.",
                "",
                "<p>",
                "</article>",
                "Share",
                "“Quoted words,” she said.",
            ]
        ),
        max_size=20,
    ).map("\n".join),
    kind=st.sampled_from(["text", "html"]),
)
@settings(max_examples=200, deadline=None)
def test_the_cleaner_never_crashes_and_never_invents_text(text: str, kind: str) -> None:
    doc = RawDocument(id="f", source="fuzz.txt", kind=kind, content=text)  # type: ignore[arg-type]
    try:
        article = clean(doc)
    except InputError as exc:
        assert str(exc).startswith("fuzz.txt: ")
        return
    assert article.paragraphs
    if kind == "text":
        for paragraph in article.paragraphs:
            assert paragraph in text
