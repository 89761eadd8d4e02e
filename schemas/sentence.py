"""The sentence model: every body sentence, numbered, with its offsets, label and score.

Offsets are character positions in the cleaned body (``Article.body``): ``body[start:end]`` is
the sentence's text, so every quote a report gives is a slice of the article by construction.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

UNSUPPORTED_LABELS = frozenset({"fact_unsupported", "opinion", "speculation", "attributed_unnamed"})


class SentenceLabel(StrEnum):
    """How a sentence stands in the article."""

    attributed = "attributed"
    attributed_unnamed = "attributed_unnamed"
    fact_supported = "fact_supported"
    fact_unsupported = "fact_unsupported"
    opinion = "opinion"
    speculation = "speculation"
    other = "other"

    @property
    def unsupported(self) -> bool:
        """True for the labels an editor must see: the article's own unbacked assertions,
        opinions and guesses, and claims resting only on unnamed sources."""
        return self.value in UNSUPPORTED_LABELS


class Span(BaseModel):
    """A slice of the body: ``body[start:end] == text``."""

    model_config = ConfigDict(extra="forbid")

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str


class TaggedWord(Span):
    """A word or phrase of the writer's own that the tagger finds loaded, with its kind and
    probability (pipeline.signals.tagger)."""

    kind: str = Field(
        description="framing_verb, loaded_language, intensifier, opinion_as_fact, "
        "speculation_as_fact or scare_quotes"
    )
    probability: float = Field(ge=0, le=1, description="P(loaded) in this sentence's context")


class Attribution(BaseModel):
    """Who a sentence's claim comes from, as the article's own words."""

    model_config = ConfigDict(extra="forbid")

    named: bool = Field(description="a named person, organisation or document, not 'sources'")
    cue: Span = Field(description="the reporting words: 'said', 'according to', a quotation")
    source: Span | None = Field(None, description="who is cited, where the article names it")
    sentence: int = Field(description="the sentence holding the cue (another one for quotes)")


class SentenceSignals(BaseModel):
    """The evidence behind a sentence's label, each signal as a probability or a count."""

    model_config = ConfigDict(extra="forbid")

    classifier: float = Field(description="subjective wording: classifier on sentence embeddings")
    loaded: Span | None = Field(
        None, description="the words the classifier finds most subjective, a span of the body"
    )
    framing: list[TaggedWord] = Field(
        default_factory=list,
        description="the writer's words the tagger finds loaded, at its reporting threshold",
    )
    model: dict[str, float] | None = Field(
        None, description="the model's probability for each kind of sentence; None without one"
    )
    subjective: float = Field(description="combined probability of subjective wording")
    threshold: float = Field(description="the P(subjective) at which a sentence is an opinion")
    finding_threshold: float = Field(
        description="the higher P(subjective) at which its wording is reported as slanted"
    )
    hedges: list[str] = Field(default_factory=list, description="hedge and speculation cues")
    checkworthy: bool = Field(False, description="picked as check-worthy by the claims stage")


class Sentence(BaseModel):
    """One numbered sentence of the body with its label and the signals behind it."""

    model_config = ConfigDict(extra="forbid")

    id: int = Field(ge=1)
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    paragraph: int = Field(ge=0, description="index of the body paragraph")
    label: SentenceLabel
    score: float = Field(ge=0, le=1, description="confidence in the label, 0-1")
    why: str = Field(description="one line: which signals gave the label")
    attribution: Attribution | None = None
    evidence: list[int] = Field(
        default_factory=list, description="for fact_supported: the sentences that back it"
    )
    signals: SentenceSignals | None = None
    strength: float | None = Field(
        None,
        ge=0,
        le=1,
        description="for an unsupported assertion: how strongly it asserts (serious, bare, "
        "certain: high; hedged or plain background: low); None for the others",
    )
