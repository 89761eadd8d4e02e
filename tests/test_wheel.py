"""The built wheel works on its own: installed into a fresh virtual environment, run from a
folder outside the checkout, `newsaudit check` audits a seed against the fake server with
the prompts, templates and shipped weights of the installed package.

The fresh environment gets the wheel (``pip install --no-deps``) and, for its
dependencies, a .pth line naming this environment's site-packages. A path line in a .pth
file only joins sys.path: the .pth files in that folder (this checkout's editable install
among them) are not run, so the checkout stays out of reach, which the test checks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from pipeline.model.prompts import prompt_hash
from pipeline.run import LLM_STAGES, PROMPTS
from schemas.report import ArticleReport
from schemas.sentence import SentenceLabel
from tests.conftest import ROOT, SEEDS_DIR
from tests.fake_server import FakeServer

SEED = "002_91cb02791afa4ef3"
SHIPPED = [
    "pipeline/data/subjectivity.npz",
    "pipeline/data/subjectivity.json",
    "pipeline/data/combination.json",
    "pipeline/data/faithfulness.json",
    "pipeline/data/tagger.npz",
    "pipeline/data/tagger.json",
    "pipeline/data/lexicons/SOURCES.tsv",
    "pipeline/data/lexicons/words_to_watch.tsv",
    "pipeline/data/lexicons/verb_classes.tsv",
    "pipeline/data/lexicons/degree_words.tsv",
    "pipeline/data/lexicons/vader.tsv",
    "pipeline/data/lexicons/pattern.tsv",
    "pipeline/data/lexicons/neutral_verbs.tsv",
    # `newsaudit calibrate` fits on these (CC BY 4.0, the licence beside them)
    "pipeline/data/newssd-eng/newssd-eng-train.jsonl",
    "pipeline/data/newssd-eng/newssd-eng-val.jsonl",
    "pipeline/data/newssd-eng/newssd-eng-test.jsonl",
    "pipeline/data/newssd-eng/LICENSE-newssd-eng.txt",
    # and the statement checker on these (Apache-2.0, the NOTICE beside them)
    "pipeline/data/summedits-news/documents.jsonl",
    "pipeline/data/summedits-news/summaries.jsonl",
    "pipeline/data/summedits-news/NOTICE",
    "pipeline/templates/digest.md.j2",
    "pipeline/templates/digest.html.j2",
    "pipeline/templates/report.md.j2",
    "pipeline/templates/report.html.j2",
    "pipeline/templates/story.md.j2",
    "pipeline/templates/story.html.j2",
    "prompts/system.j2",
    "prompts/_article.j2",
    *(f"prompts/{name}.j2" for name in PROMPTS),
    "schemas/report.py",
    "newsaudit/__init__.py",
    "newsaudit/py.typed",
    "pipeline/cli/__init__.py",
]


def _run(
    args: list[str | Path], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [str(a) for a in args]
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this checkout, built by pip (hatchling, the project's build backend)."""
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, ROOT])
    (built,) = out.glob("newsaudit-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment holding the wheel, this one's dependencies borrowed."""
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", python]
    _run([*pip, "install", "--no-deps", "--no-index", "-q", wheel])
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(_run([python, "-c", where]).stdout.strip())
    borrowed = dict.fromkeys(sysconfig.get_path(name) for name in ("purelib", "platlib"))
    (site / "_borrowed_dependencies.pth").write_text("".join(f"{p}\n" for p in borrowed))
    return venv


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, **extra}


def test_the_wheel_ships_prompts_templates_weights_and_the_packages(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [name for name in SHIPPED if name not in names] == []
    assert not [name for name in names if name.startswith(("tests/", "train/", "cassettes/"))]
    entry = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    )
    assert "newsaudit = pipeline.cli:app" in entry.decode()


def test_the_installed_packages_come_from_the_wheel_not_the_checkout(
    fresh: Path, tmp_path: Path
) -> None:
    code = (
        "import importlib.resources, newsaudit, pipeline, prompts, schemas\n"
        "print(newsaudit.__file__, pipeline.__file__, prompts.__file__, schemas.__file__)\n"
        "print(importlib.resources.files('pipeline').joinpath('data/subjectivity.npz'))\n"
    )
    result = _run([fresh / "bin" / "python", "-c", code], cwd=tmp_path, env=_clean_env())
    paths = [Path(p).resolve() for p in result.stdout.split()]
    site = (fresh / "lib").resolve()
    assert all(path.is_relative_to(site) for path in paths), result.stdout
    assert not any(path.is_relative_to(ROOT.resolve()) for path in paths)


def test_newsaudit_check_from_the_installed_wheel(
    fresh: Path, tmp_path: Path, server: FakeServer
) -> None:
    work = tmp_path / "elsewhere"  # outside the checkout: nothing found by a relative path
    work.mkdir()
    seed = work / f"{SEED}.txt"
    seed.write_text((SEEDS_DIR / f"{SEED}.txt").read_text(encoding="utf-8"), encoding="utf-8")
    env = _clean_env(
        NEWSAUDIT_CONFIG=os.devnull,
        NEWSAUDIT_MODEL="openai/fake-model",
        NEWSAUDIT_API_BASE=server.base_url,
        LITELLM_LOCAL_MODEL_COST_MAP="True",
    )
    args = [fresh / "bin" / "newsaudit", "check", seed.name, "--json", "report.json", "-q"]
    result = _run([*args, "--html", "report.html"], cwd=work, env=env)
    assert result.stdout.startswith("# ")  # the Markdown template, from the wheel
    assert "<html" in (work / "report.html").read_text(encoding="utf-8").lower()

    report = json.loads((work / "report.json").read_text(encoding="utf-8"))
    body = ArticleReport.model_validate(report).article.body
    assert report["article"]["id"] == SEED
    assert [s["stage"] for s in report["stages"]] == ["clean", *LLM_STAGES]
    # The prompts the run hashed are the checkout's own templates, shipped in the wheel.
    assert report["prompt_hashes"] == {name: prompt_hash(name) for name in PROMPTS}
    sentences = report["sentences"]
    assert len(sentences) > 10
    assert all(body[s["start"] : s["end"]] == s["text"] for s in sentences)
    assert {s["label"] for s in sentences} <= {label.value for label in SentenceLabel}
    # Subjectivity from the shipped classifier weights and the cached embedding model.
    scored = [s["signals"]["classifier"] for s in sentences if s["signals"]]
    assert scored and all(0.0 <= p <= 1.0 for p in scored)
    assert len(set(scored)) > 1
