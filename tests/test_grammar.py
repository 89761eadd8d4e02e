"""Compact JSON: the grammar, when it is sent, re-asks under it, and the fallbacks."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import tarfile
from pathlib import Path
from typing import Any

import litellm
import pytest
import yaml

from pipeline.core.config import Settings, load_settings
from pipeline.core.errors import ConfigError, ProviderError, SetupError
from pipeline.model import llm as llm_module
from pipeline.model import local_model
from pipeline.model.grammar import compact_grammar, schema_grammar
from pipeline.model.llm import LLM
from pipeline.model.transport import OpenAICompatible
from schemas.claims import ClaimPicks
from schemas.story import StoryEvent
from tests.test_llm import GOOD, _claims, _llm, _response

ROOT = Path(__file__).resolve().parent.parent
LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')  # a GBNF string literal's contents
WHITESPACE = re.compile(r"\s|\\[nrt]")
REFUSED = litellm.BadRequestError(
    "Unrecognized request argument supplied: grammar", llm_provider="openai", model="test-model"
)


def _rules(grammar: str) -> dict[str, str]:
    return dict(line.split(" ::= ", 1) for line in grammar.splitlines() if " ::= " in line)


def test_the_compact_grammar_allows_no_whitespace_between_tokens() -> None:
    schema = ClaimPicks.model_json_schema()
    loose, compact = _rules(schema_grammar(schema)), _rules(compact_grammar(schema))
    assert loose["space"] != '""'  # the converter allows a space between tokens...
    assert compact["space"] == '""'  # ...the compact grammar allows nothing there
    assert set(loose) == set(compact)  # the same rules otherwise
    between = [body for name, body in compact.items() if name != "char"]  # char: inside strings
    literals = [lit for body in between for lit in LITERAL.findall(body)]
    assert '\\"' in literals  # the literals are read...
    assert not [lit for lit in literals if WHITESPACE.search(lit)]  # ...and none is whitespace
    # Strings exclude control characters (a raw newline in a string is not JSON).
    assert compact["char"].startswith(r'[^"\\\x7F\x00-\x1F]')


def test_nullable_fields_and_refs_convert() -> None:
    rules = _rules(compact_grammar(StoryEvent.model_json_schema()))
    assert rules["place"] == "string | null"
    assert rules["root"].startswith('"{" space who-kv "," space event-kv')


def test_a_missing_converter_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="run `newsaudit setup-local`"):
        compact_grammar({"type": "string"}, converter=tmp_path / "absent.py")


def test_compact_is_opt_in_and_chosen_per_model() -> None:
    # Off by default, the embedded model included (it degraded the 1.5B model's answers).
    assert Settings(model="embedded/qwen2.5-coder-1.5b").json_output_for() == "schema"
    assert Settings(model="openai/gpt-4o-mini").json_output_for() == "schema"
    local = Settings(model="openai/local", api_base="http://127.0.0.1:8080/v1")
    assert local.json_output_for() == "schema"  # a grammar is sent only where it is known
    per_model = Settings(model="openai/llama-3", model_json_outputs={"openai/llama": "compact"})
    assert per_model.json_output_for() == "compact"
    assert (
        Settings(
            model="openai/gpt-4o-mini", model_json_outputs={"openai/llama": "compact"}
        ).json_output_for()
        == "schema"
    )
    assert Settings(model="embedded/x", json_output="compact").json_output_for() == "compact"


def test_a_grammar_is_sent_when_configured_and_not_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compact, sent = _llm(monkeypatch, [_response({"claims": [GOOD]})], json_output="compact")
    _claims(compact)
    grammar = sent.kwargs[0]["extra_body"]["grammar"]
    assert "response_format" not in sent.kwargs[0]
    assert _rules(grammar)["space"] == '""'
    assert '"\\"quote\\""' in grammar  # the response model's own fields
    body = OpenAICompatible("openai/test-model", "http://127.0.0.1:9/v1", None).body(sent.kwargs[0])
    assert body["grammar"] == grammar and "response_format" not in body

    schema, sent = _llm(monkeypatch, [_response({"claims": [GOOD]})], json_output="schema")
    _claims(schema)
    assert "extra_body" not in sent.kwargs[0]
    assert sent.kwargs[0]["response_format"]["json_schema"]["name"] == "ClaimList"


def test_an_answer_that_breaks_the_schema_is_re_asked_under_the_grammar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm, sent = _llm(
        monkeypatch,
        [_response({"claims": [{"claim": "no quote"}]}), _response({"claims": [GOOD]})],
        json_output="compact",
    )
    result, metrics = _claims(llm)
    assert [c.quote for c in result.claims] == [GOOD["quote"]]
    assert metrics.reasks == 1 and len(sent.kwargs) == 2
    assert sent.kwargs[1]["extra_body"] == sent.kwargs[0]["extra_body"]
    assert len(sent.kwargs[1]["messages"]) > len(sent.kwargs[0]["messages"])  # the re-ask turn


def test_a_server_that_refuses_the_grammar_gets_the_schema_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    answers = [REFUSED, _response({"claims": [GOOD]}), _response({"claims": [GOOD]})]
    llm, sent = _llm(monkeypatch, answers, json_output="compact")
    with caplog.at_level(logging.WARNING, logger="newsaudit.model"):
        result, metrics = _claims(llm)
    assert len(result.claims) == 1
    assert "extra_body" in sent.kwargs[0] and "response_format" in sent.kwargs[1]
    assert "extra_body" not in sent.kwargs[1]
    assert any("refused the grammar field" in w for w in metrics.warnings)
    assert sum("refused the grammar field" in r.getMessage() for r in caplog.records) == 1
    _, later = _claims(llm)  # the rest of the run sends the schema at once, without a warning
    assert "response_format" in sent.kwargs[2] and later.warnings == []


def test_a_bad_request_about_something_else_is_not_a_grammar_refusal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    too_long = litellm.BadRequestError("context too long", llm_provider="openai", model="m")
    llm, sent = _llm(monkeypatch, [too_long], json_output="compact")
    with pytest.raises(ProviderError, match="context too long"):
        _claims(llm)
    assert len(sent.kwargs) == 1 and llm.json_output == "compact"


def test_without_the_converter_the_schema_is_sent_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def missing(*_: Any) -> dict[str, str]:
        raise SetupError("grammar converter not found at /nowhere: run `newsaudit setup-local`")

    monkeypatch.setattr(llm_module, "_grammar_body", missing)
    llm, sent = _llm(monkeypatch, [_response({"claims": [GOOD]})], json_output="compact")
    with caplog.at_level(logging.WARNING, logger="newsaudit.model"):
        _claims(llm)
    assert "response_format" in sent.kwargs[0] and llm.json_output == "schema"
    assert "compact JSON off" in caplog.text and "setup-local" in caplog.text


def test_compact_output_needs_a_mode_whose_answer_is_the_json_text() -> None:
    settings = load_settings("/dev/null", json_output="compact", mode="tools")
    with pytest.raises(ConfigError, match="json_output = compact needs mode json_schema"):
        LLM(settings, model="openai/test-model", api_base="http://127.0.0.1:9/v1")


def test_setup_installs_the_converter_and_its_licence_from_the_pinned_sources(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NEWSAUDIT_HOME", str(tmp_path))
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for name, text in (("llama_cpp/llama_grammar.py", "X = 1\n"), ("LICENSE.md", "MIT\n")):
            info = tarfile.TarInfo(f"llama_cpp_python-0.3.36/{name}")
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text.encode()))
    payload = archive.getvalue()

    def download(requirements: list[str], dest: Path, *, no_binary: bool = False) -> None:
        assert requirements == [local_model.LLAMA_CPP_SDIST] and no_binary
        (dest / "llama_cpp_python-0.3.36.tar.gz").write_bytes(payload)

    monkeypatch.setattr(local_model, "_pip_download", download)
    monkeypatch.setattr(local_model, "LLAMA_CPP_SDIST_SHA256", "0" * 64)
    with pytest.raises(SetupError, match="does not match pinned"):
        local_model.install_converter(log=lambda _: None)
    assert not list((tmp_path / "build").glob("*.tar.gz"))  # a bad download is not kept

    monkeypatch.setattr(local_model, "LLAMA_CPP_SDIST_SHA256", hashlib.sha256(payload).hexdigest())
    path = local_model.install_converter(log=lambda _: None)
    assert path == tmp_path / "lib" / "llama_grammar.py" and path.read_text() == "X = 1\n"
    assert (tmp_path / "lib" / "llama_grammar.LICENSE.md").read_text() == "MIT\n"


def _structured_interactions(cassette: Path) -> list[tuple[dict[str, Any], str]]:
    recorded = yaml.safe_load(cassette.read_text())["interactions"]
    pairs = []
    for interaction in recorded:
        body = json.loads(interaction["request"]["body"])
        if body.get("max_tokens") == 1:
            continue  # the one-token questions are not structured calls
        answer = json.loads(interaction["response"]["body"]["string"])
        pairs.append((body, answer["choices"][0]["message"]["content"]))
    return pairs


@pytest.mark.parametrize(
    "cassette", sorted((ROOT / "cassettes").glob("0*.yaml")), ids=lambda p: p.name[:3]
)
def test_the_default_recordings_send_the_schema_and_no_grammar(cassette: Path) -> None:
    """The embedded model's recordings keep json_output = schema (the default): every
    structured request carries the response_format schema and no grammar field."""
    pairs = _structured_interactions(cassette)
    assert pairs
    for body, _ in pairs:
        assert "grammar" not in body and body["response_format"]["type"] == "json_schema"
