"""newsaudit.reports_frame: reports as a DataFrame per article or per sentence, from report
objects, a batch's reports.jsonl, a folder of report files, one file, or a list of these."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

import newsaudit
from schemas.report import ArticleReport
from tests.conftest import EXAMPLES
from tests.report_fixtures import small_report

pd = pytest.importorskip("pandas")


def report_from(outlet: str, ident: str) -> ArticleReport:
    """The fixture report, as if ``outlet`` had published it under ``ident``."""
    report = small_report()
    article = report.article.model_copy(update={"id": ident, "source": outlet})
    return report.model_copy(update={"article": article})


def batch_output(folder: Path, reports: list[ArticleReport]) -> Path:
    """A batch's output folder: reports.jsonl records, summary.json, errors.jsonl."""
    folder.mkdir()
    records = [
        {"key": f"k{n}", "id": r.article.id, "input": f"in.jsonl:{n}", "fields": {"desk": "city"}}
        | {"report": r.model_dump(mode="json")}
        for n, r in enumerate(reports, start=1)
    ]
    lines = "".join(json.dumps(r) + "\n" for r in records)
    (folder / "reports.jsonl").write_text(lines, encoding="utf-8")
    (folder / "summary.json").write_text("{}", encoding="utf-8")
    (folder / "errors.jsonl").write_text('{"key": "k9"}\n', encoding="utf-8")
    return folder


def test_one_row_per_article_with_counts_shares_and_costs() -> None:
    frame = newsaudit.reports_frame([small_report()])
    (row,) = frame.to_dict("records")
    assert (row["id"], row["source"], row["model"]) == (
        "fixture",
        "tests/fixture.txt",
        "fake/model",
    )
    assert row["overall_slant"] == "slightly_slanted"
    assert row["sentences"] == 7
    assert all(row[f"n_{label.value}"] == 1 for label in newsaudit.SentenceLabel)
    # Four unsupported assertions among six sentences that assert anything (one is a heading).
    assert row["unsupported"] == 4 and row["unsupported_share"] == pytest.approx(4 / 6)
    assert (row["claims"], row["unsupported_claims"], row["bias_findings"]) == (2, 1, 2)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (400, 40)
    assert row["cost_usd"] == pytest.approx(0.0012) and row["seconds"] == 3.0


def test_one_row_per_sentence_with_label_source_and_signals() -> None:
    frame = newsaudit.reports_frame([small_report()], level="sentence")
    assert list(frame["sentence_id"]) == list(range(1, 8))
    assert list(frame["label"]) == [s.label.value for s in small_report().sentences]
    assert frame["unsupported"].sum() == 4
    mayor = frame.set_index("sentence_id").loc[3]
    assert (mayor["attribution_source"], mayor["attribution_named"]) == ("The mayor", True)
    assert mayor["text"] == small_report().article.body[mayor["start"] : mayor["end"]]
    assert set(frame["article_id"]) == {"fixture"}


def test_a_batch_output_reads_as_its_reports_with_the_records_fields(tmp_path: Path) -> None:
    reports = [report_from("Daily Planet", "a1"), report_from("The Bugle", "b1")]
    folder = batch_output(tmp_path / "out", reports)
    for source in (folder, folder / "reports.jsonl", str(folder)):
        frame = newsaudit.reports_frame(source)
        assert list(frame["id"]) == ["a1", "b1"] and list(frame["desk"]) == ["city", "city"]
    by_outlet = newsaudit.reports_frame(folder).groupby("source")["unsupported_share"].mean()
    assert by_outlet.round(2).to_dict() == {"Daily Planet": 0.67, "The Bugle": 0.67}
    sentences = newsaudit.reports_frame(folder, level="sentence")
    assert len(sentences) == 14 and set(sentences["desk"]) == {"city"}


def test_a_torn_last_line_is_left_out_and_a_bad_line_is_named(tmp_path: Path) -> None:
    folder = batch_output(tmp_path / "out", [report_from("Daily Planet", "a1")])
    path = folder / "reports.jsonl"
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"key": "k2", "report": {"newsaudit_v')  # a batch still writing
    assert list(newsaudit.reports_frame(path)["id"]) == ["a1"]
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    with pytest.raises(newsaudit.InputError, match=r"reports\.jsonl:2: invalid JSON"):
        newsaudit.reports_frame(path)


def test_report_files_a_folder_of_them_and_bad_ones(tmp_path: Path) -> None:
    for ident in ("x1", "x2"):
        report = report_from("The Bugle", ident)
        (tmp_path / f"{ident}.json").write_text(report.model_dump_json(), encoding="utf-8")
    assert list(newsaudit.reports_frame(tmp_path)["id"]) == ["x1", "x2"]
    assert list(newsaudit.reports_frame(tmp_path / "x2.json")["id"]) == ["x2"]
    (tmp_path / "story.json").write_text('{"sources": []}', encoding="utf-8")
    with pytest.raises(newsaudit.InputError, match=r"story\.json: not an ArticleReport"):
        newsaudit.reports_frame(tmp_path)
    with pytest.raises(newsaudit.InputError, match="no such file or folder"):
        newsaudit.reports_frame(tmp_path / "absent")
    with pytest.raises(newsaudit.InputError, match=r"reports\[0\]: an ArticleReport, not dict"):
        newsaudit.reports_frame([{"id": "x"}])  # type: ignore[list-item]


def write_reports(folder: Path, outlet: str, *idents: str) -> list[Path]:
    """One report .json file per id, as ``newsaudit check --format json`` writes them."""
    folder.mkdir(exist_ok=True)
    paths = [folder / f"{ident}.json" for ident in idents]
    for ident, path in zip(idents, paths, strict=True):
        path.write_text(report_from(outlet, ident).model_dump_json(), encoding="utf-8")
    return paths


def test_a_list_of_report_paths_reads_each_report(tmp_path: Path) -> None:
    first, second = write_reports(tmp_path / "r", "The Bugle", "p1", "p2")
    frame = newsaudit.reports_frame([str(first), second])  # str and Path alike
    assert list(frame["id"]) == ["p1", "p2"] and set(frame["source"]) == {"The Bugle"}
    assert list(frame["sentences"]) == [7, 7] and list(frame["unsupported"]) == [4, 4]
    sentences = newsaudit.reports_frame([second], level="sentence")
    assert set(sentences["article_id"]) == {"p2"}
    assert list(sentences["text"]) == [s.text for s in small_report().sentences]


def test_a_mixed_list_of_reports_files_folders_and_batch_outputs(tmp_path: Path) -> None:
    (single,) = write_reports(tmp_path / "one", "The Bugle", "f1")
    folder = tmp_path / "many"
    write_reports(folder, "The Bugle", "g1", "g2")
    batch = batch_output(tmp_path / "out", [report_from("Daily Planet", "b1")])
    mixed = [report_from("Daily Planet", "o1"), single, str(folder), batch / "reports.jsonl"]
    frame = newsaudit.reports_frame(mixed)
    assert list(frame["id"]) == ["o1", "f1", "g1", "g2", "b1"]
    # A batch record's fields are columns; the rows without them hold nothing there.
    assert frame.set_index("id")["desk"].isna().to_dict() == {
        "o1": True,
        "f1": True,
        "g1": True,
        "g2": True,
        "b1": False,
    }
    assert len(newsaudit.reports_frame(mixed, level="sentence")) == 5 * 7


def test_a_bad_path_in_a_list_is_named_with_its_place(tmp_path: Path) -> None:
    (good,) = write_reports(tmp_path, "The Bugle", "ok")
    absent = tmp_path / "absent.json"
    with pytest.raises(newsaudit.InputError, match=r"reports\[1\]: .*absent\.json: no such file"):
        newsaudit.reports_frame([good, absent])
    story = tmp_path / "story.json"
    story.write_text('{"sources": []}', encoding="utf-8")
    with pytest.raises(
        newsaudit.InputError, match=r"reports\[2\]: .*story\.json: not an ArticleReport"
    ):
        newsaudit.reports_frame([good, report_from("The Bugle", "r1"), str(story)])
    notes = tmp_path / "notes.txt"
    notes.write_text("not JSON at all", encoding="utf-8")
    with pytest.raises(newsaudit.InputError, match=r"reports\[0\]: .*notes\.txt: invalid JSON"):
        newsaudit.reports_frame([notes])
    with pytest.raises(newsaudit.InputError, match=r"reports\[1\]: an ArticleReport, not int"):
        newsaudit.reports_frame([good, 3])  # type: ignore[list-item]


def test_no_reports_give_an_empty_frame_with_the_columns() -> None:
    frame = newsaudit.reports_frame([], level="sentence")
    assert frame.empty and "label" in frame.columns and "subjective" in frame.columns
    assert math.isnan(
        newsaudit.reports_frame([small_report().model_copy(update={"sentences": []})])[
            "unsupported_share"
        ][0]
    )


def test_without_pandas_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(newsaudit.NewsauditError, match=r"pip install 'newsaudit\[pandas\]'"):
        newsaudit.reports_frame([small_report()])


def _examples_in_the_current_shape() -> list[Path]:
    files = sorted(EXAMPLES.glob("*.json"))
    try:
        for path in files:
            ArticleReport.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError:
        return []
    return files


# Runs once examples/*.json are regenerated in the sentence-shaped ArticleReport (the lead
# re-records them); until then it is skipped, saying why.
@pytest.mark.skipif(
    not _examples_in_the_current_shape(),
    reason="examples/*.json are not yet regenerated as the current ArticleReport",
)
def test_the_committed_examples_as_frames() -> None:
    files = _examples_in_the_current_shape()
    articles = newsaudit.reports_frame(EXAMPLES)
    sentences = newsaudit.reports_frame(EXAMPLES, level="sentence")
    assert len(articles) == len(files)
    assert articles["sentences"].sum() == len(sentences) > 0
    counts = [c for c in articles.columns if c.startswith("n_")]
    assert (articles[counts].sum(axis=1) == articles["sentences"]).all()
    assert set(sentences["label"]) <= {label.value for label in newsaudit.SentenceLabel}
    assert sentences.groupby("article_id")["unsupported"].sum().to_dict() == dict(
        zip(articles["id"], articles["unsupported"], strict=True)
    )
