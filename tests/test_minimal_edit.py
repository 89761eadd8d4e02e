"""Minimal neutral edits built in code from tagged framing spans (pipeline.signals.minimal_edit).

Every sentence here is written for these tests; each test asserts the exact edited sentence.
"""

from __future__ import annotations

import re
from importlib.resources import files

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.signals.framing import Framing
from pipeline.signals.minimal_edit import minimal_edit, neutral_verb

Span = tuple[int, int, str]


def spans(text: str, *tagged: tuple[str, Framing]) -> list[Span]:
    """(start, end, kind) of each phrase's first occurrence in ``text``."""
    out = []
    for phrase, kind in tagged:
        start = text.index(phrase)
        out.append((start, start + len(phrase), kind.value))
    return out


def edit(text: str, *tagged: tuple[str, Framing]) -> str | None:
    return minimal_edit(text, spans(text, *tagged))


INT, OPN, VRB, LDD = (
    Framing.intensifier,
    Framing.opinion_as_fact,
    Framing.framing_verb,
    Framing.loaded_language,
)


def test_an_intensifier_is_dropped() -> None:
    text = "Officials counted a very large crowd outside the depot."
    assert edit(text, ("very", INT)) == "Officials counted a large crowd outside the depot."
    text = "The storm caused extremely heavy flooding in the valley."
    assert edit(text, ("extremely", INT)) == "The storm caused heavy flooding in the valley."


def test_an_intensifier_with_nothing_after_it_to_modify_is_kept() -> None:
    assert edit("The rise in rents was dramatic.", ("dramatic", INT)) is None
    assert edit("Residents thanked the crews very much.", ("very", INT)) is None


def test_a_parenthetical_booster_goes_with_its_commas() -> None:
    text = "The new timetable, clearly, confused commuters."
    assert edit(text, ("clearly", OPN)) == "The new timetable confused commuters."
    text = "The ferry was, of course, late again."
    assert edit(text, ("of course", OPN)) == "The ferry was late again."
    text = "The ferry was late again, obviously."
    assert edit(text, ("obviously", OPN)) == "The ferry was late again."


def test_a_sentence_initial_booster_is_dropped_and_the_new_first_letter_capitalised() -> None:
    text = "Obviously, the committee ignored the engineers."
    assert edit(text, ("Obviously", OPN)) == "The committee ignored the engineers."
    text = "It is clear that the committee ignored the engineers."
    assert edit(text, ("It is clear that", OPN)) == "The committee ignored the engineers."
    text = "The truth is that nobody read the audit."
    assert edit(text, ("The truth is", OPN)) == "Nobody read the audit."
    assert edit("The mill undoubtedly closed early.", ("undoubtedly", OPN)) == (
        "The mill closed early."
    )


def test_framing_verbs_become_neutral_in_the_same_tense() -> None:
    assert edit("The treasurer admits that the fund is short.", ("admits", VRB)) == (
        "The treasurer says that the fund is short."
    )
    assert edit("The treasurer admitted that the fund was short.", ("admitted", VRB)) == (
        "The treasurer said that the fund was short."
    )
    assert edit("Admitting that the fund was short, the treasurer quit.", ("Admitting", VRB)) == (
        "Saying that the fund was short, the treasurer quit."
    )
    assert edit("The clerk conceded that the tally was wrong.", ("conceded", VRB)) == (
        "The clerk said that the tally was wrong."
    )
    assert edit("The governor slammed the new tariff.", ("slammed", VRB)) == (
        "The governor criticized the new tariff."
    )
    assert edit('"We ran out of time," the organiser confessed.', ("confessed", VRB)) == (
        '"We ran out of time," the organiser said.'
    )


def test_claimed_that_is_said_that_but_claimed_to_is_left_alone() -> None:
    text = "The vendor claimed that the update was safe."
    assert edit(text, ("claimed that", VRB)) == "The vendor said that the update was safe."
    assert edit("The vendor claimed to have patched the flaw.", ("claimed to", VRB)) is None
    assert edit("The vendor claimed to have patched the flaw.", ("claimed", VRB)) is None
    # "said" cannot take a plain object, and a noun is not a verb.
    assert edit("The coach admitted the error.", ("admitted", VRB)) is None
    assert edit("Her claims that the ballots were lost spread.", ("claims that", VRB)) is None
    assert edit("The van slammed into a lamppost.", ("slammed", VRB)) is None
    # The table has no "attack": a physical attack is not a criticism.
    assert edit("Rebels attacked the convoy at dawn.", ("attacked", VRB)) is None


def test_lashed_out_at_becomes_criticized() -> None:
    text = "The director lashed out at critics after the screening."
    expected = "The director criticized critics after the screening."
    assert edit(text, ("lashed out at", VRB)) == expected
    # The tagger's span may stop before "at": the preposition goes with the verb.
    assert edit(text, ("lashed out", VRB)) == expected
    assert edit("The director lashed out.", ("lashed out", VRB)) is None


def test_an_admission_becomes_a_statement_with_its_article_agreeing() -> None:
    text = "In a rare admission, the mayor said the budget had slipped."
    assert edit(text, ("rare", INT), ("admission", VRB)) == (
        "In a statement, the mayor said the budget had slipped."
    )
    assert edit("She gave an admission of fault.", ("admission", VRB)) == (
        "She gave a statement of fault."
    )


def test_a_loaded_adjective_before_a_noun_is_dropped() -> None:
    text = "The radical councillor tabled a disastrous motion."
    assert edit(text, ("radical", LDD)) == "The councillor tabled a disastrous motion."
    assert edit(text, ("disastrous", LDD)) == "The radical councillor tabled a motion."
    assert edit("They ran a smear campaign against the union.", ("smear", LDD)) == (
        "They ran a campaign against the union."
    )
    assert edit("He shamelessly repeated the rumour.", ("shamelessly", LDD)) == (
        "He repeated the rumour."
    )


def test_coordinated_modifiers_lose_their_comma_or_conjunction_too() -> None:
    text = "Voters rejected the reckless, wasteful levy."
    assert edit(text, ("reckless", LDD)) == "Voters rejected the wasteful levy."
    assert edit(text, ("wasteful", LDD)) == "Voters rejected the reckless levy."
    assert edit(text, ("reckless", LDD), ("wasteful", LDD)) == "Voters rejected the levy."
    text = "Voters rejected the reckless and costly levy."
    assert edit(text, ("reckless", LDD)) == "Voters rejected the costly levy."
    # A comma that ends an opening phrase is not a list comma: it stays.
    text = "After the vote, radical members walked out."
    assert edit(text, ("radical", LDD)) == "After the vote, members walked out."


def test_a_and_an_agree_with_the_word_that_now_follows() -> None:
    assert edit("He unveiled an outrageous scheme.", ("outrageous", LDD)) == "He unveiled a scheme."
    assert edit("It was a very odd season.", ("very", INT)) == "It was an odd season."
    assert edit("It was a truly honest reply.", ("truly", INT)) == "It was an honest reply."
    assert edit("It was an utterly useless fix.", ("utterly", INT)) == "It was a useless fix."
    assert edit("A deeply unusual frost hit.", ("deeply", INT)) == "An unusual frost hit."


def test_a_modifier_is_not_dropped_from_under_its_own_degree_adverb() -> None:
    text = "It was a hugely costly scheme."
    assert edit(text, ("costly", LDD)) is None  # not "a hugely scheme"
    assert edit(text, ("hugely", INT), ("costly", LDD)) == "It was a scheme."
    assert edit("The flood was so severe that roads closed.", ("so", INT)) is None
    assert edit("The tally was too low to count.", ("too", INT)) is None


def test_a_predicate_adjective_or_a_head_noun_gives_no_edit() -> None:
    assert edit("The rollout was disastrous.", ("disastrous", LDD)) is None
    assert edit("The relaunch was a fiasco.", ("fiasco", LDD)) is None
    assert edit("The fiasco dragged on for weeks.", ("fiasco", LDD)) is None


def test_a_head_noun_before_a_preposition_is_not_taken_for_a_modifier() -> None:
    # "circus" heads its noun phrase: without it "a political unlike any" is not English
    text = "The hearing became a political circus unlike any before it."
    assert edit(text, ("circus", LDD)) is None
    assert edit("They ran a shambolic campaign across the state.", ("shambolic", LDD)) == (
        "They ran a campaign across the state."
    )


def test_a_span_over_a_name_or_a_number_is_skipped() -> None:
    text = "The radical Senator Marsh voted 14 times."
    assert edit(text, ("Marsh", LDD)) is None
    assert edit(text, ("14", INT)) is None
    assert edit(text, ("radical", LDD), ("Marsh", LDD), ("14", INT)) == (
        "The Senator Marsh voted 14 times."
    )


def test_scare_quotes_are_unquoted_and_their_words_kept() -> None:
    text = 'The firm called the layoffs a "refresh" of its staff.'
    assert minimal_edit(text, [(text.index('"'), text.index(" of"), "scare_quotes")]) == (
        "The firm called the layoffs a refresh of its staff."
    )
    text = "Critics called it a ‘Green Deal’ in name only."
    assert minimal_edit(text, [(20, 32, "scare_quotes")]) == (
        "Critics called it a Green Deal in name only."
    )


def test_speculation_is_skipped() -> None:
    text = "Some observers fear the bridge will very soon close."
    assert edit(text, ("Some observers fear", Framing.speculation_as_fact)) is None
    assert edit(text, ("Some observers fear", Framing.speculation_as_fact), ("very", INT)) == (
        "Some observers fear the bridge will soon close."
    )


def test_offsets_off_word_boundaries_or_out_of_range_are_skipped() -> None:
    text = "Officials counted a very large crowd."
    start = text.index("very")
    assert minimal_edit(text, [(start + 1, start + 4, "intensifier")]) is None
    assert minimal_edit(text, [(start, start + 2, "intensifier")]) is None
    assert minimal_edit(text, [(start, 999, "intensifier"), (-3, 2, "intensifier")]) is None
    assert minimal_edit(text, [(start, start + 4, "no_such_kind")]) is None
    assert minimal_edit(text, [(start + 4, start, "intensifier")]) is None
    assert minimal_edit(text, []) is None


def test_several_spans_are_applied_right_to_left_in_any_order() -> None:
    text = "Clearly, the minister admitted that the hugely costly rollout had stalled."
    tagged = spans(text, ("hugely", INT), ("Clearly", OPN), ("admitted", VRB))
    expected = "The minister said that the costly rollout had stalled."
    assert minimal_edit(text, tagged) == expected
    assert minimal_edit(text, list(reversed(tagged))) == expected


def test_overlapping_spans_do_not_garble_the_sentence() -> None:
    text = "The governor slammed the reckless levy."
    start = text.index("slammed")
    tagged = [(start, start + 11, "framing_verb"), (start, start + 7, "framing_verb")]
    assert minimal_edit(text, tagged) == "The governor criticized the reckless levy."


@pytest.mark.parametrize(
    ("word", "neutral"),
    [
        ("admits", "says"),
        ("admitted", "said"),
        ("admitting", "saying"),
        ("conceded", "said"),
        ("conceding", "saying"),
        ("confesses", "says"),
        ("slammed", "criticized"),
        ("slamming", "criticizing"),
        ("bragged", "said"),
        ("blasts", "criticizes"),
        ("lashed out at", "criticized"),
        ("Rails  against", "criticizes"),
        ("admissions", "statements"),
        ("walked", None),
        ("said", None),
    ],
)
def test_neutral_verb_keeps_the_form(word: str, neutral: str | None) -> None:
    assert neutral_verb(word) == neutral


def test_the_neutral_verb_table_is_well_formed_and_cites_its_sources() -> None:
    text = files("pipeline").joinpath("data/lexicons/neutral_verbs.tsv").read_text("utf-8")
    lines = text.splitlines()
    comments = [line for line in lines if line.startswith("#")]
    assert lines[: len(comments)] == comments  # comments at the top only
    header, *rows = lines[len(comments) :]
    assert header.split("\t") == ["entry", "neutral", "source"]
    assert any("licence: CC BY-SA 4.0" in line for line in comments)
    entries = [row.split("\t") for row in rows]
    assert all(len(fields) == 3 for fields in entries)
    assert {source for _, _, source in entries} == {"wikipedia-wtw", "newsaudit-guideline"}
    assert all(entry == entry.lower().strip() for entry, _, _ in entries)
    assert len({entry for entry, _, _ in entries}) == len(entries)


SENTENCES = (
    "Clearly, the radical Senator Vance admitted that 42 very costly drones were lost.",
    'The "reform" of the Port Authority was, obviously, a disastrous failure in 2019.',
    "Critics fear the reckless, wasteful plan by Mayor Ortiz will cost $3.5 million.",
    "It is clear that the hugely unpopular levy slammed 12,000 families in Leeds.",
    "A very shocking bombshell report lashed out at NATO on Tuesday.",
)
KINDS = [kind.value for kind in Framing]


def _protected(text: str) -> list[str]:
    """The numbers and capitalised words after the first word of a sentence."""
    words = re.findall(r"\w+(?:[’'-]\w+)*", text)
    return re.findall(r"\d[\d,.]*\d|\d", text) + [w for w in words[1:] if w[0].isupper()]


@st.composite
def tagged_sentence(draw: st.DrawFn) -> tuple[str, list[Span]]:
    text = draw(st.sampled_from(SENTENCES))
    words = [(m.start(), m.end()) for m in re.finditer(r"\w+(?:[’'-]\w+)*", text)]
    chosen = draw(st.lists(st.sampled_from(words), max_size=6))
    out = [(s, e, draw(st.sampled_from(KINDS))) for s, e in chosen]
    extra = st.tuples(st.integers(-2, len(text) + 2), st.integers(-2, len(text) + 2))
    out += [(s, e, draw(st.sampled_from(KINDS))) for s, e in draw(st.lists(extra, max_size=3))]
    return text, out


@settings(max_examples=400, deadline=None)
@given(tagged_sentence())
def test_an_edit_never_loses_a_name_or_a_number(case: tuple[str, list[Span]]) -> None:
    text, tagged = case
    out = minimal_edit(text, tagged)
    if out is None:
        return
    words = set(re.findall(r"\w+(?:[’'-]\w+)*", out))
    for kept in _protected(text):
        assert kept in out and (not kept[0].isalpha() or kept in words), (kept, out)
    assert out != text and "  " not in out and not re.search(r"\s[,.;:!?]", out)
    assert out[-1] == text[-1] and out[0].isupper()
