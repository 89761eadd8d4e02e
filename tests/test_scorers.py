"""The real scorers behind `newsaudit eval`: each row judged exactly as `check` or `verify`
judges it, its score centred on the fitted threshold."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.core.config import load_settings
from pipeline.evaluation.rows import BiasRow, FaithfulnessRow
from pipeline.evaluation.scorers import make_scorer
from tests.fake_server import FakeServer
from tests.fakes import FakeLLM

SUBJECTIVE = "This shameful budget is an utter disaster for ordinary families."
OBJECTIVE = "The government announced the budget on Tuesday in parliament."


def test_a_subjective_sentence_outscores_a_neutral_one() -> None:
    settings = load_settings("/dev/null")
    settings.judgments.model_signal = "logprobs"
    asked: list[str] = []

    def probe(messages: list[dict[str, str]]) -> dict[str, float]:
        asked.append(messages[-1]["content"])
        opinion = "shameful" in messages[-1]["content"]
        return {"A": 0.1, "B": 0.7 if opinion else 0.05, "C": 0.05, "D": 0.1, "E": 0.05}

    scorer, threshold = make_scorer("bias", FakeLLM({}, probe=probe), settings)
    rows = [
        BiasRow(id="s", text=SUBJECTIVE, label=True),
        BiasRow(id="o", text=OBJECTIVE, label=False),
        BiasRow(id="q", text="“We will win,” the minister said.", label=False),
    ]
    scores = asyncio.run(scorer(rows))  # type: ignore[arg-type]
    assert threshold == 0.5 and all(0 <= s <= 1 for s in scores)
    assert scores[0] >= 0.5 > scores[1]
    # Each row is a one-sentence article; an attributed one is not put to the model.
    assert len(asked) == 2 and all("[1] " in a for a in asked)


def test_faithfulness_scores_a_copied_claim_above_an_altered_one() -> None:
    settings = load_settings("/dev/null")
    settings.judgments.model_signal = "off"
    scorer, threshold = make_scorer("faithfulness", FakeLLM({}), settings)
    document = (
        "The council approved a budget of 12 million euros on Tuesday. Mayor Anna Berg said "
        "the money would repair 12 bridges before winter."
    )
    rows = [
        FaithfulnessRow(
            id="a", document=document, claim="The council approved 12 million euros.", label=True
        ),
        FaithfulnessRow(
            id="b", document=document, claim="Mayor Tom Kerr rejected 40 bridges.", label=False
        ),
    ]
    good, bad = asyncio.run(scorer(rows))  # type: ignore[arg-type]
    assert threshold == 0.5 and good > bad


def test_eval_runs_both_tasks_end_to_end_and_resumes(tmp_path: Path) -> None:
    bias = tmp_path / "bias.jsonl"
    bias.write_text(
        "\n".join(
            json.dumps({"id": f"r{n}", "text": text, "label": label})
            for n, (text, label) in enumerate([(SUBJECTIVE, True), (OBJECTIVE, False)] * 3)
        )
    )
    faith = tmp_path / "faith.jsonl"
    faith.write_text(
        json.dumps({"id": "f1", "document": OBJECTIVE, "claim": OBJECTIVE, "label": True})
        + "\n"
        + json.dumps({"id": "f2", "document": OBJECTIVE, "claim": "Tax rose 9%.", "label": False})
    )
    runner = CliRunner()
    fake = FakeServer()
    with fake.running():
        base = ["--model", "openai/fake", "--api-base", fake.base_url]
        for rows, task in ((bias, "bias"), (faith, "faithfulness")):
            out = tmp_path / f"{task}.pred.jsonl"
            result = runner.invoke(
                app, ["eval", str(rows), "--task", task, "--out", str(out), *base]
            )
            assert result.exit_code == 0, result.output
            assert "balanced accuracy" in result.stdout and "macro-F1" in result.stdout
            lines = [json.loads(x) for x in out.read_text().splitlines()]
            assert len(lines) == len(rows.read_text().splitlines())
            assert all(0 <= x["score"] <= 1 and x["pred"] == (x["score"] >= 0.5) for x in lines)
        served = sum(fake.requests.values())
        again = runner.invoke(
            app,
            [
                "eval",
                str(bias),
                "--task",
                "bias",
                "--out",
                str(tmp_path / "bias.pred.jsonl"),
                *base,
            ],
        )
        assert again.exit_code == 0 and sum(fake.requests.values()) == served  # all resumed
