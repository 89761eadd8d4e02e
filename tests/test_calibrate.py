"""`newsaudit calibrate`: profiles written, found by model string, refused when stale; the
model asked as the pipeline asks it (log-probabilities or the batch form), resumably; bad rows
refused as `eval` refuses them; the fit reads the model's answers."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.core.config import Settings, load_settings
from pipeline.core.errors import ConfigError, InputError
from pipeline.evaluation.calibrate import (
    answers_file,
    ask,
    ask_statements,
    calibration_data,
    fit_profile,
    fit_statements,
    list_profiles,
    statement_data,
    write_profile,
)
from pipeline.evaluation.metrics import roc_auc
from pipeline.evaluation.rows import BiasRow, FaithfulnessRow
from pipeline.model.prompts import prompt_hash
from pipeline.run import open_llm
from pipeline.signals.calibration import (
    calibration_warnings,
    profile_file,
    sentence_calibration,
    statement_combination,
)
from pipeline.stages.support import label_article
from pipeline.text.sentences import whole
from schemas.article import Article
from schemas.report import StageMetrics
from schemas.sentence import SentenceLabel
from tests.fake_server import FakeServer

SHIPPED = json.loads(
    (Path(__file__).resolve().parent.parent / "pipeline/data/combination.json").read_text()
)
FACT = {"A": 0.02, "B": 0.02, "C": 0.02, "D": 0.9, "E": 0.04}
OPINION = {"A": 0.02, "B": 0.9, "C": 0.02, "D": 0.02, "E": 0.04}
OWN_VOICE = [
    BiasRow(id=f"r{n}", text=text, label=n % 2 == 0)
    for n, text in enumerate(
        [
            "The council approved the new budget on Tuesday after a long debate.",
            "This reckless plan is a disgrace to everyone who pays taxes here.",
            "The bridge will close for repairs from the first week of March.",
            "Frankly, the mayor has never understood what this town needs.",
        ]
    )
]


@pytest.fixture
def profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "calibration"
    monkeypatch.setenv("NEWSAUDIT_CALIBRATION_DIR", str(folder))
    return folder


def settings_for(model: str, signal: str = "logprobs", **judgments: Any) -> Settings:
    return load_settings(
        os.devnull,
        model=model,
        api_base="http://127.0.0.1:9/v1",
        retry_attempts=1,
        judgments={"model_signal": signal, **judgments},
    )


def a_profile(model: str, signal: str = "logprobs", *, opinion_bias: float = 0.0) -> dict:
    """A profile in the form calibrate writes, with the shipped weights (the with-model
    intercept moved by ``opinion_bias``)."""
    sentences = {k: SHIPPED[k] for k in ("with_model", "without_model")}
    sentences["with_model"] = sentences["with_model"] | {
        "intercept": SHIPPED["with_model"]["intercept"] + opinion_bias
    }
    prompt = {"logprobs": "sentence", "batch": "support"}[signal]
    return {
        "format": 1,
        "model": model,
        "signal": signal,
        "prompt_hashes": {prompt: prompt_hash(prompt)},
        "fitted": "2026-12-06T10:00:00+00:00",
        "data": ["test rows"],
        "sentences": sentences | {"out_of_fold": {"n": 830, "macro_f1": [0.78, 0.72, 0.83]}},
    }


class AnsweringLLM:
    """Answers the one-letter question with fixed probabilities; counts the questions and
    stops (as a killed run stops) after ``stop_after`` of them."""

    model = "stub"

    def __init__(self, probs: dict[str, float], stop_after: int | None = None) -> None:
        self.probs, self.stop_after, self.asked = probs, stop_after, 0

    async def probe(self, stage: str, messages: Any, options: Any) -> tuple[Any, StageMetrics]:
        if self.stop_after is not None and self.asked >= self.stop_after:
            raise KeyboardInterrupt
        self.asked += 1
        return self.probs, StageMetrics(stage=stage, calls=1)


def label_of(text: str, settings: Settings) -> SentenceLabel:
    labelled, _ = asyncio.run(
        label_article(
            Article(id="a", paragraphs=[text]),
            [whole(text)],
            llm=AnsweringLLM(FACT),
            settings=settings,
            checkworthy=set(),
        )
    )
    return labelled[0].label


def test_a_profile_is_written_and_found_by_model_string_and_form(profiles: Path) -> None:
    settings = settings_for("openai/other-model")
    assert sentence_calibration(settings).path is None
    assert sentence_calibration(settings).label == "shipped (embedded/qwen2.5-coder-1.5b)"

    path = write_profile(a_profile("openai/other-model", opinion_bias=1.5))

    assert path == profiles / profile_file("openai/other-model", "logprobs")
    found = sentence_calibration(settings)
    assert found.path == path
    assert found.label == (
        "openai_other-model--logprobs.json (fitted 2026-12-06, n 830, out-of-fold macro-F1 0.780)"
    )
    assert found.combination.with_model.intercept == pytest.approx(
        SHIPPED["with_model"]["intercept"] + 1.5
    )
    # Another model string, or the batch form of the same one, is another profile.
    assert sentence_calibration(settings_for("openai/third-model")).path is None
    assert sentence_calibration(settings_for("openai/other-model", "batch")).path is None
    # "shipped" ignores the profile; a path names one explicitly.
    assert (
        sentence_calibration(settings_for("openai/other-model", calibration="shipped")).path is None
    )
    assert (
        sentence_calibration(settings_for("openai/other-model", calibration=str(path))).path == path
    )


def test_the_labels_read_the_answers_through_the_profile(profiles: Path) -> None:
    text = "The committee published its annual report on the state of local roads."
    settings = settings_for("openai/other-model")
    assert label_of(text, settings) is not SentenceLabel.opinion
    # A profile whose weights read the same "checkable fact" answer as an opinion.
    write_profile(a_profile("openai/other-model", opinion_bias=25.0))
    assert label_of(text, settings) is SentenceLabel.opinion


def test_without_a_profile_the_report_says_the_weights_are_not_calibrated(
    profiles: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for("openai/uncalibrated-model")
    [note] = calibration_warnings(settings, "logprobs", answered=True)
    assert "calibration: shipped (fitted on embedded/qwen2.5-coder-1.5b" in note
    assert "openai/uncalibrated-model go through those weights" in note
    assert "`newsaudit calibrate`" in note
    assert "serving other weights" not in note

    write_profile(a_profile("openai/uncalibrated-model"))
    assert calibration_warnings(settings, "logprobs", answered=True) == []


def test_a_profile_fitted_on_other_prompts_is_refused(profiles: Path) -> None:
    stale = a_profile("openai/other-model") | {"prompt_hashes": {"sentence": "0" * 64}}
    write_profile(stale)
    settings = settings_for("openai/other-model")

    with pytest.raises(ConfigError, match=r"another version of prompts/sentence\.j2: recalibrate"):
        sentence_calibration(settings)
    # Refused before any model is asked, as a run or a batch starts.
    with pytest.raises(ConfigError, match="recalibrate"), open_llm(settings):
        pass
    assert "stale (sentence.j2 changed): recalibrate" in list_profiles()


def test_a_profile_for_another_model_or_a_broken_file_is_refused(
    profiles: Path, tmp_path: Path
) -> None:
    path = write_profile(a_profile("openai/other-model"), tmp_path / "theirs.json")
    with pytest.raises(ConfigError, match=r"fitted for openai/other-model \(logprobs\), not"):
        sentence_calibration(settings_for("openai/mine", calibration=str(path)))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ConfigError, match=r"broken\.json: calibration profile unreadable"):
        sentence_calibration(settings_for("openai/mine", calibration=str(broken)))
    with pytest.raises(ConfigError, match=r"missing\.json: calibration profile not found"):
        sentence_calibration(
            settings_for("openai/mine", calibration=str(tmp_path / "missing.json"))
        )


def test_a_provider_without_log_probabilities_is_calibrated_in_the_batch_form(
    server: FakeServer, profiles: Path
) -> None:
    server.logprobs = False
    cache = answers_file("openai/fake", "logprobs")
    logprobs = load_settings(
        os.devnull, model="openai/fake", api_base=server.base_url, retry_attempts=1
    )
    with (
        open_llm(logprobs, calibrating=True) as llm,
        pytest.raises(ConfigError, match='model_signal = "batch"'),
    ):
        asyncio.run(ask(OWN_VOICE, llm, "logprobs", cache))

    batch = load_settings(
        os.devnull,
        model="openai/fake",
        api_base=server.base_url,
        retry_attempts=1,
        judgments={"model_signal": "batch"},
    )
    cache = answers_file("openai/fake", "batch")
    with open_llm(batch, calibrating=True) as llm:
        answers = asyncio.run(ask(OWN_VOICE, llm, "batch", cache))
    # The fake server calls every sentence a fact: the batch form reads one answer as 0.85.
    assert all(a is not None and a["D"] == pytest.approx(0.85) for a in answers.values())
    assert set(answers) == {r.id for r in OWN_VOICE}
    lines = [json.loads(x) for x in cache.read_text().splitlines()]
    assert {x["prompt"] for x in lines} == {prompt_hash("support")}
    assert server.requests["SentenceJudgments"] == len(OWN_VOICE)


def test_an_interrupted_calibration_resumes_where_it_stopped(profiles: Path) -> None:
    cache = answers_file("stub", "logprobs")
    first = AnsweringLLM(OPINION, stop_after=2)
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(ask(OWN_VOICE, first, "logprobs", cache))
    assert len(cache.read_text().splitlines()) == 2
    with cache.open("a") as torn:  # a line cut short as the process was killed
        torn.write('{"id": "r2", "sha"')

    second = AnsweringLLM(OPINION)
    answers = asyncio.run(ask(OWN_VOICE, second, "logprobs", cache))

    assert second.asked == len(OWN_VOICE) - 2
    assert answers == {r.id: OPINION for r in OWN_VOICE}
    # A changed row text is asked again; the others come from the cache.
    changed = [OWN_VOICE[0].model_copy(update={"text": OWN_VOICE[0].text + " Again."})]
    third = AnsweringLLM(FACT)
    assert asyncio.run(ask(changed + OWN_VOICE[1:], third, "logprobs", cache))["r0"] == FACT
    assert third.asked == 1


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"id": "x1", "text": "A sentence here.", "label": "yes"}', "label"),
        ('{"id": "x1", "label": true}', "text"),
        ("not json", "invalid JSON"),
    ],
)
def test_bad_rows_are_refused_as_eval_refuses_them(tmp_path: Path, line: str, problem: str) -> None:
    rows = tmp_path / "mine.jsonl"
    rows.write_text('{"id": "ok", "text": "A fine sentence.", "label": false}\n' + line + "\n")
    with pytest.raises(InputError, match=rf"mine\.jsonl:2: .*{problem}"):
        calibration_data([rows])


def test_a_row_id_already_in_the_shipped_rows_is_refused(tmp_path: Path) -> None:
    rows = tmp_path / "mine.jsonl"
    rows.write_text('{"id": "newssd-train-0", "text": "A fine sentence.", "label": false}\n')
    with pytest.raises(InputError, match="'newssd-train-0' is also in the shipped rows"):
        calibration_data([rows])


def test_the_fit_learns_from_the_models_answers(profiles: Path) -> None:
    data = calibration_data(limit=200, test=False)
    # A model whose answer is the label itself, on every sentence it is asked about.
    answers = {r.id: OPINION if r.label else FACT for r in data.asked()}

    profile = fit_profile(data, answers, model="openai/oracle", signal="logprobs")

    figures = profile["sentences"]
    assert figures["out_of_fold"]["n"] == 200
    assert (
        figures["out_of_fold"]["macro_f1"][0] >= figures["shipped_same_rows"]["macro_f1"][0] + 0.05
    )
    assert any(f.startswith("model_") for f in figures["with_model"]["features"])
    path = write_profile(profile)
    settings = settings_for("openai/oracle")
    assert sentence_calibration(settings).path == path
    assert label_of("The mayor opened the new library on Monday morning.", settings) is not (
        SentenceLabel.opinion
    )


def test_calibrate_on_the_command_line_lists_profiles(profiles: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    assert "no calibration profiles" in runner.invoke(app, ["calibrate", "--list"]).output
    write_profile(a_profile("openai/other-model"))
    listed = runner.invoke(app, ["calibrate", "--list"]).output
    assert "openai_other-model--logprobs.json | openai/other-model | logprobs | current" in listed
    config = tmp_path / "off.toml"
    config.write_text('[judgments]\nmodel_signal = "off"\n')
    off = runner.invoke(app, ["calibrate", "--model", "openai/x", "--config", str(config)])
    assert off.exit_code == 3
    assert "nothing to calibrate" in off.output


STATEMENT_ROWS = [
    FaithfulnessRow(
        id=f"s{n}",
        document="The council met on Tuesday.\nIt approved a budget of 4 million euros.",
        claim=claim,
        label=label,
    )
    for n, (claim, label) in enumerate(
        [
            ("The council approved a budget of 4 million euros.", True),
            ("The council rejected the budget.", False),
            ("The council met on Tuesday.", True),
        ]
    )
]


def test_statements_are_asked_as_verify_asks_them_and_cached(server: FakeServer) -> None:
    settings = load_settings(
        os.devnull, model="openai/fake", api_base=server.base_url, retry_attempts=1
    )
    cache = answers_file("openai/fake", "logprobs", statements=True)
    with open_llm(settings, calibrating=True) as llm:
        answers = asyncio.run(ask_statements(STATEMENT_ROWS, llm, "logprobs", cache))
        # The fake server's one-letter answer is "D" for every question: here not an option,
        # so each statement gets the probabilities of A, B and C it sent.
        assert all(a is not None and set(a) == {"A", "B", "C"} for a in answers.values())
        asked = server.requests["probe"]
        assert asked == len(STATEMENT_ROWS)
        again = asyncio.run(ask_statements(STATEMENT_ROWS, llm, "logprobs", cache))
    assert again == answers and server.requests["probe"] == asked  # all from the cache
    lines = [json.loads(x) for x in cache.read_text().splitlines()]
    assert {x["prompt"] for x in lines} == {prompt_hash("verify_article")}

    server.logprobs = False
    with (
        open_llm(settings, calibrating=True) as llm,
        pytest.raises(ConfigError, match='model_signal = "batch"'),
    ):
        asyncio.run(ask_statements(STATEMENT_ROWS, llm, "logprobs", cache.with_name("x.jsonl")))


def test_the_statement_fit_reads_the_models_answers_and_loads_for_verify(
    profiles: Path,
) -> None:
    data = statement_data(limit=120)
    assert set(data.sets) == {"SummEdits news"} and len(set(data.groups)) > 5
    # A model whose answer is the label: A (supported) for consistent summaries, C otherwise.
    answers = {
        r.id: {"A": 0.9, "B": 0.05, "C": 0.05} if r.label else {"A": 0.05, "B": 0.05, "C": 0.9}
        for r in data.rows
    }
    fitted = fit_statements(data, answers, signal="logprobs")
    assert fitted["out_of_fold"]["n"] == 120
    assert fitted["out_of_fold"]["balanced_accuracy"][0] >= 0.9
    # A model that means the opposite by its letters: the fit reads what its answers do
    # mean, the shipped weights (which assume A = supported) cannot.
    inverted = {k: {"A": v["C"], "B": v["B"], "C": v["A"]} for k, v in answers.items()}
    contrary = fit_statements(data, inverted, signal="logprobs")
    assert contrary["out_of_fold"]["balanced_accuracy"][0] >= 0.9
    assert contrary["shipped_same_rows"]["balanced_accuracy"][0] < 0.6

    profile = a_profile("openai/oracle") | {
        "statements": fitted,
        "prompt_hashes": {
            "sentence": prompt_hash("sentence"),
            "verify_article": prompt_hash("verify_article"),
        },
    }
    write_profile(profile)
    settings = settings_for("openai/oracle")
    loaded = statement_combination(settings, "logprobs")
    assert loaded.with_model.coef == tuple(fitted["with_model"]["coef"])
    # A batch run checks its summary without the model: the shipped weights read that.
    assert statement_combination(settings, "off").meta.get("model") == SHIPPED["model"]
    assert "statements n 120, balanced accuracy" in sentence_calibration(settings).label
    # The statement prompt is part of the profile's prompts: a changed one is refused.
    write_profile(
        profile | {"prompt_hashes": profile["prompt_hashes"] | {"verify_article": "0" * 64}}
    )
    with pytest.raises(ConfigError, match=r"prompts/verify_article\.j2: recalibrate"):
        sentence_calibration(settings)


def test_the_left_out_protocol_scores_no_set_with_weights_or_a_threshold_that_saw_it() -> None:
    """Each set's scores and thresholds stay the same whatever that set's own labels are."""
    from pipeline.evaluation.fitting import left_out

    rng = np.random.default_rng(0)
    sets = np.repeat(np.array(["a", "b", "c"]), 60)
    y = rng.random(180) < 0.5
    x = np.column_stack([y + rng.normal(0, 0.5, 180), rng.normal(0, 1, 180)])
    groups = np.array([f"d{i // 3}" for i in range(180)])
    marker = rng.random(180)
    scores, thresholds = left_out(x, y, sets, groups, marker)
    flipped = y.copy()
    flipped[sets == "b"] = ~flipped[sets == "b"]  # set b's labels, and only them, changed
    again, again_thresholds = left_out(x, flipped, sets, groups, marker)
    held = sets == "b"
    assert np.allclose(scores[held], again[held]) and np.allclose(
        thresholds[held], again_thresholds[held]
    )
    assert not np.allclose(scores[~held], again[~held])  # the other sets did learn from b
    assert roc_auc(y[held], scores[held]) > 0.7  # and the signal carries over to b


def test_statement_scores_read_a_statement_at_the_threshold_verify_reads_it() -> None:
    """The shipped threshold moves with how abstractive the statement is; the scores that
    compare a profile with the shipped weights must use the same moved threshold."""
    from pipeline.evaluation.calibrate import statement_scores
    from pipeline.signals.subjectivity import centred, load_combination
    from pipeline.stages.verify import Evidence, features, judge

    document = "The budget was approved in March by 181 votes to 169.\nRuiz warned of cuts."
    evidence = Evidence([1], [document.splitlines()[0]], [0.9])
    answer = {"A": 0.5, "B": 0.2, "C": 0.3}
    shipped = load_combination("faithfulness.json")
    thresholds = set()
    for statement in ("Lawmakers backed the spending plan.", "The budget passed by 181 votes."):
        values = features(statement, evidence, document, answer)
        check = judge(statement, evidence, document, answer)
        (score,) = statement_scores([values], [True], shipped)
        assert score == pytest.approx(centred(check.probability, check.threshold), abs=1e-3)
        thresholds.add(check.threshold)
    assert len(thresholds) == 2  # the two are read at different thresholds
