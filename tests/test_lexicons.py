"""The word lists of pipeline/data/lexicons/ are well formed and every entry cites a source.

Each list is a TSV file: ``#`` comment lines at the top only, then the header ``entry, kind,
category, source`` (generated lists add ``score``), then one row per entry. Every ``source`` is
a key of ``SOURCES.tsv``, whose rows give each source's licence and citation; a list drawn
from a share-alike source (CC BY-SA) states that licence in a ``# licence:`` line at its top.
``neutral_verbs.tsv`` is not a word list but a map (``entry, neutral, source``: the neutral word
for each framing verb); it is held to the same rules under its own header.
The checks are plain functions that return the problems they find, so that they are tested on
bad rows too (a check that cannot fail proves nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable

import pytest

FOLDER: Traversable = files("pipeline").joinpath("data", "lexicons")
SOURCES_FILE = "SOURCES.tsv"
COLUMNS = ("entry", "kind", "category", "source")
OPTIONAL_COLUMNS = ("score",)
SOURCE_COLUMNS = ("source", "title", "licence", "citation")
KINDS = frozenset(
    {
        "framing_verb",
        "loaded_language",
        "intensifier",
        "opinion_as_fact",
        "speculation_as_fact",
        "neutral_report",
    }
)
SHARE_ALIKE = re.compile(r"\bBY-SA\b|share-?alike", re.IGNORECASE)
MAPS = {"neutral_verbs.tsv": ("entry", "neutral", "source")}  # file -> its header
CURATED = {"words_to_watch.tsv": 100, "verb_classes.tsv": 80, "degree_words.tsv": 60}


@dataclass
class Table:
    """A parsed TSV file: its top comment lines, header and rows (with their line numbers)."""

    comments: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def parse(text: str, columns: tuple[str, ...], optional: tuple[str, ...] = ()) -> Table:
    """Comments at the top, then a header that starts with ``columns`` (then only names from
    ``optional``), then rows with as many fields as the header."""
    table = Table()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline
    n = 0
    while n < len(lines) and lines[n].startswith("#"):
        table.comments.append(lines[n])
        n += 1
    if n == len(lines):
        table.problems.append("no header line")
        return table
    table.header = lines[n].split("\t")
    head, extra = table.header[: len(columns)], table.header[len(columns) :]
    unknown = [name for name in extra if name not in optional]
    if tuple(head) != columns or unknown or len(set(extra)) != len(extra):
        table.problems.append(f"line {n + 1}: header {table.header}, expected {list(columns)}")
        return table
    for number, line in enumerate(lines[n + 1 :], start=n + 2):
        if line.startswith("#"):
            table.problems.append(f"line {number}: a comment below the header")
        elif not line.strip():
            table.problems.append(f"line {number}: an empty line")
        elif len(fields := line.split("\t")) != len(table.header):
            table.problems.append(f"line {number}: {len(fields)} fields, not {len(table.header)}")
        else:
            table.rows.append((number, dict(zip(table.header, fields, strict=True))))
    return table


def entry_problems(
    rows: list[tuple[int, dict[str, str]]], sources: set[str], columns: tuple[str, ...] = COLUMNS
) -> list[str]:
    """What is wrong with the rows of a word list (or a map, under its ``columns``), given the
    source keys of SOURCES.tsv. An entry may appear once per kind."""
    problems, seen = [], {}
    for number, row in rows:
        entry, kind = row["entry"], row.get("kind", "")
        where = f"line {number} ({entry!r})"
        missing = [name for name in columns if not row[name].strip()]
        if missing:
            problems.append(f"{where}: no {', '.join(missing)}")
        if kind.strip() and kind not in KINDS:
            problems.append(f"{where}: kind {kind!r} is not one of {sorted(KINDS)}")
        if row["source"].strip() and row["source"] not in sources:
            problems.append(f"{where}: source {row['source']!r} is not in {SOURCES_FILE}")
        if entry != entry.lower():
            problems.append(f"{where}: not lower-case")
        if entry.strip() and entry != " ".join(entry.split()):
            problems.append(f"{where}: words not separated by single spaces")
        if row.get("score", "").strip():
            try:
                float(row["score"])
            except ValueError:
                problems.append(f"{where}: score {row['score']!r} is not a number")
        if (entry, kind) in seen:
            problems.append(f"{where}: ({entry!r}, {kind!r}) repeats line {seen[entry, kind]}")
        seen.setdefault((entry, kind), number)
    return problems


def source_problems(rows: list[tuple[int, dict[str, str]]]) -> list[str]:
    """What is wrong with the rows of SOURCES.tsv: a field left empty, a key given twice."""
    problems, seen = [], set()
    for number, row in rows:
        missing = [name for name in SOURCE_COLUMNS if not row[name].strip()]
        if missing:
            problems.append(f"line {number} ({row['source']!r}): no {', '.join(missing)}")
        if row["source"] in seen:
            problems.append(f"line {number}: source {row['source']!r} given twice")
        seen.add(row["source"])
    return problems


def licence_problems(comments: list[str], used: set[str], licences: dict[str, str]) -> list[str]:
    """A list that cites a share-alike source must state that licence in a top comment line
    ``# licence: <the licence as SOURCES.tsv gives it> ...``."""
    stated = [c.lstrip("#").strip() for c in comments]
    stated = [c for c in stated if c.lower().startswith("licence:")]
    return [
        f"source {key!r} is {licences[key]}: no '# licence: {licences[key]}' line at the top"
        for key in sorted(used)
        if key in licences
        and SHARE_ALIKE.search(licences[key])
        and not any(licences[key] in line for line in stated)
    ]


def read(name: str) -> str:
    return FOLDER.joinpath(name).read_text(encoding="utf-8")


def sources() -> Table:
    return parse(read(SOURCES_FILE), SOURCE_COLUMNS)


def licences() -> dict[str, str]:
    return {row["source"]: row["licence"] for _, row in sources().rows}


def columns_of(name: str) -> tuple[str, ...]:
    return MAPS.get(name, COLUMNS)


def parse_list(name: str) -> Table:
    return parse(read(name), columns_of(name), () if name in MAPS else OPTIONAL_COLUMNS)


WORD_LISTS = sorted(
    p.name for p in FOLDER.iterdir() if p.name.endswith(".tsv") and p.name != SOURCES_FILE
)


def test_the_sources_table_gives_every_source_a_licence_and_a_citation() -> None:
    table = sources()
    assert table.problems == []
    assert source_problems(table.rows) == []
    keys = {row["source"] for _, row in table.rows}
    assert {"wikipedia-wtw", "kiparsky1970", "hooper1975", "karttunen1971"} <= keys
    assert {"quirk1985", "hyland2005", "vader", "pattern"} <= keys


def test_the_hand_curated_lists_are_there() -> None:
    for name, least in CURATED.items():
        assert name in WORD_LISTS
        assert len(parse_list(name).rows) >= least, name


@pytest.mark.parametrize("name", WORD_LISTS)
def test_a_word_list_is_well_formed_and_cites_known_sources(name: str) -> None:
    table = parse_list(name)
    assert table.problems == []
    assert table.rows, f"{name} has no entries"
    assert entry_problems(table.rows, set(licences()), columns_of(name)) == []


@pytest.mark.parametrize("name", WORD_LISTS)
def test_a_list_from_a_share_alike_source_states_its_licence(name: str) -> None:
    table = parse_list(name)
    used = {row["source"] for _, row in table.rows}
    assert licence_problems(table.comments, used, licences()) == []


def test_words_to_watch_keeps_the_share_alike_licence() -> None:
    table = parse(read("words_to_watch.tsv"), COLUMNS)
    assert {row["source"] for _, row in table.rows} == {"wikipedia-wtw"}
    assert SHARE_ALIKE.search(licences()["wikipedia-wtw"])
    assert any(c.startswith("# licence: CC BY-SA 4.0") for c in table.comments)


BAD_LIST = (
    "# licence: MIT\n"
    "entry\tkind\tcategory\tsource\n"
    "fine\tintensifier\tamplifier_booster\tquirk1985\n"
    "\tintensifier\tamplifier_booster\tquirk1985\n"  # no entry
    "nokind\t\tamplifier_booster\tquirk1985\n"
    "nosource\tintensifier\tamplifier_booster\t\n"
    "wrongkind\tslanted\tamplifier_booster\tquirk1985\n"
    "unknown source\tintensifier\tamplifier_booster\tmy-memory\n"
    "Capital\tintensifier\tamplifier_booster\tquirk1985\n"
    "two  spaces\tintensifier\tamplifier_booster\tquirk1985\n"
    "fine\tintensifier\tamplifier_maximizer\tquirk1985\n"  # (entry, kind) twice
    "fine\topinion_as_fact\tcertainty_booster\thyland2005\n"  # another kind: allowed
    "short\tintensifier\tquirk1985\n"
    "# a comment below the header\n"
    "\n"
)


def test_the_checks_find_each_fault_of_a_bad_list() -> None:
    table = parse(BAD_LIST, COLUMNS, OPTIONAL_COLUMNS)
    assert table.problems == [
        "line 13: 3 fields, not 4",
        "line 14: a comment below the header",
        "line 15: an empty line",
    ]
    problems = entry_problems(table.rows, {"quirk1985", "hyland2005"})
    expected = [
        "line 4 (''): no entry",
        "line 5 ('nokind'): no kind",
        "line 6 ('nosource'): no source",
        "line 7 ('wrongkind'): kind 'slanted' is not one of",
        "line 8 ('unknown source'): source 'my-memory' is not in SOURCES.tsv",
        "line 9 ('Capital'): not lower-case",
        "line 10 ('two  spaces'): words not separated by single spaces",
        "line 11 ('fine'): ('fine', 'intensifier') repeats line 3",
    ]
    assert len(problems) == len(expected)
    assert all(p.startswith(e) for p, e in zip(problems, expected, strict=True)), problems


@pytest.mark.parametrize(
    "header",
    [
        "word\tkind\tcategory\tsource",  # a renamed column
        "entry\tkind\tsource",  # a missing column
        "entry\tcategory\tkind\tsource",  # out of order
        "entry\tkind\tcategory\tsource\tweight",  # an unknown extra column
        "entry\tkind\tcategory\tsource\tscore\tscore",
    ],
)
def test_the_checks_refuse_a_wrong_header(header: str) -> None:
    table = parse(f"# source: x\n{header}\nword\tintensifier\tc\tquirk1985\n", COLUMNS, ("score",))
    assert len(table.problems) == 1 and "header" in table.problems[0]
    assert table.rows == []
    assert parse("# only comments\n", COLUMNS).problems == ["no header line"]


def test_the_checks_hold_a_map_to_its_own_header() -> None:
    columns = ("entry", "neutral", "source")
    text = "entry\tneutral\tsource\nadmit\tsay\tw\nadmit\tsay\tw\nclaim\t\tw\nDeny\tsay\tx\n"
    table = parse(text, columns)
    assert table.problems == []
    assert entry_problems(table.rows, {"w"}, columns) == [
        "line 3 ('admit'): ('admit', '') repeats line 2",
        "line 4 ('claim'): no neutral",
        "line 5 ('Deny'): source 'x' is not in SOURCES.tsv",
        "line 5 ('Deny'): not lower-case",
    ]
    assert parse(text, COLUMNS).problems != []  # a map is not a word list


def test_the_checks_refuse_a_source_row_without_licence_or_citation() -> None:
    text = (
        "source\ttitle\tlicence\tcitation\n"
        "a\tA title\tMIT\tSomeone (2020)\n"
        "b\tB title\t\tSomeone (2021)\n"
        "c\tC title\tCC0\t \n"
        "a\tA again\tMIT\tSomeone (2020)\n"
    )
    table = parse(text, SOURCE_COLUMNS)
    assert source_problems(table.rows) == [
        "line 3 ('b'): no licence",
        "line 4 ('c'): no citation",
        "line 5: source 'a' given twice",
    ]


def test_the_licence_check_wants_the_share_alike_licence_stated() -> None:
    known = {"wiki": "CC BY-SA 4.0", "mit": "MIT"}
    assert licence_problems(["# source: wiki"], {"wiki", "mit"}, known) == [
        "source 'wiki' is CC BY-SA 4.0: no '# licence: CC BY-SA 4.0' line at the top"
    ]
    assert licence_problems(["# licence: CC BY 4.0"], {"wiki"}, known) != []
    assert licence_problems(["# licence: CC BY-SA 4.0 (adapted)"], {"wiki"}, known) == []
    assert licence_problems([], {"mit"}, known) == []  # not share-alike: nothing required
