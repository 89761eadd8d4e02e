"""Cross-source comparison of one story: which claims the sources share, contradict or omit."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from schemas.evidence import keep_valid_items
from schemas.report import StageMetrics


def _known_ids(ids: list[str], info: ValidationInfo) -> list[str]:
    known = (info.context or {}).get("claim_ids")
    cleaned = [i.strip().upper() for i in ids]
    if known is not None:
        unknown = [i for i in cleaned if i not in known]
        if unknown:
            raise ValueError(f"unknown claim ids {unknown}; use ids from the list, like A1")
    return list(dict.fromkeys(cleaned))


class ClaimGroup(BaseModel):
    """Claims from different sources that state the same fact (the model's answer)."""

    model_config = ConfigDict(extra="forbid")

    statement: str = Field(description="the shared fact, in neutral words")
    claims: list[str] = Field(
        min_length=1, description="ids of the claims that state this fact, e.g. ['A1', 'C3']"
    )
    contradicting: list[str] = Field(
        default_factory=list, description="ids of claims that say the opposite"
    )
    note: str | None = Field(
        None,
        description="if the sources describe different events or dates, or differ in a "
        "detail (name, title, date, number), say so here; else null",
    )

    _claims = field_validator("claims", "contradicting")(_known_ids)

    @model_validator(mode="after")
    def _across_sources(self) -> ClaimGroup:
        if not self.contradicting and len({i[0] for i in self.claims}) < 2:
            raise ValueError(
                f"group {self.claims} has claims of one source only; a group joins claims of "
                "two or more sources (like A2 and C1), leave the others out"
            )
        return self


NOT_STATED = {"", "not stated", "none", "unknown", "n/a", "null", "not mentioned"}


class StoryEvent(BaseModel):
    """The meeting or event one article reports (the model's answer, per source)."""

    model_config = ConfigDict(extra="forbid")

    who: str = Field(description="the people or bodies who met or took part")
    event: str = Field(description="what kind of meeting or event, in a few words")
    place: str | None = Field(
        description="where it took place, copied from the article; 'not stated' if absent"
    )
    when: str | None = Field(
        description="when it took place, copied from the article; 'not stated' if absent"
    )

    @field_validator("place", "when", mode="before")
    @classmethod
    def _stated(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or value.strip().strip(".").lower() in NOT_STATED:
            return None
        verifier = (info.context or {}).get("quotes")
        if verifier is None:
            return value.strip()
        try:  # the article's own words, checked like every quote; else it is not evidence
            return str(verifier.verify(value))
        except ValueError:
            return None


class SourceEvent(BaseModel):
    """One source's event, and whether it differs from what the other sources report."""

    letter: str
    who: str
    event: str
    place: str | None
    when: str | None
    different: bool = Field(description="describes another meeting or event than the others")
    same_as: list[str] = Field(
        default_factory=list, description="sources whose event is similar to this one's"
    )
    similarity: float | None = Field(
        None, description="mean similarity of its event to the other sources' events"
    )


class StoryComparison(BaseModel):
    """The model's grouping of every source's claims."""

    model_config = ConfigDict(extra="forbid")

    groups: list[ClaimGroup] = Field(
        description="facts reported by two or more sources, or contradicted by one"
    )
    _keep = field_validator("groups", mode="wrap")(keep_valid_items)


class SourceRef(BaseModel):
    """One article of the story."""

    letter: str
    id: str
    title: str | None
    source: str | None


class CrossClaim(BaseModel):
    """One fact across the sources, with each source's own words."""

    statement: str
    asserted_by: dict[str, list[str]] = Field(description="source letter -> its quotes")
    contradicted_by: dict[str, list[str]] = Field(default_factory=dict)
    silent: list[str] = Field(description="source letters that do not mention it")
    note: str | None = None
    other_event: dict[str, list[str]] = Field(
        default_factory=dict,
        description="source letter -> its quotes, for sources that report a different meeting "
        "or event: matched by wording, but not the same statement",
    )
    matched_by: Literal["model", "similarity"] | None = Field(
        None,
        description="model: grouped by the model; similarity: by embedding similarity alone "
        "(the model placed none of its claims); None: one source's claim",
    )
    similarity: float | None = Field(
        None, description="for similarity matches: the lowest cosine between two of its quotes"
    )

    @property
    def single_source(self) -> bool:
        """Reported by one source only, and contradicted or echoed by none."""
        return len(self.asserted_by) == 1 and not self.contradicted_by and not self.other_event


class SourceFraming(BaseModel):
    """How one source frames the story."""

    letter: str
    overall_slant: str
    headline_findings: int = Field(description="clickbait or headline/body mismatch findings")
    loaded_language: int
    claims: int
    unsupported_share: float | None
    omits: list[str] = Field(description="facts two or more other sources report")


class InconsistentDetail(BaseModel):
    """One person named with different titles across the sources (found in the texts)."""

    subject: str = Field(description="the person, as the sources name them")
    versions: dict[str, list[str]] = Field(description="title -> source letters that use it")
    quotes: dict[str, list[str]] = Field(description="source letter -> its words, verbatim")


class StoryReport(BaseModel):
    """The story across its sources."""

    model_config = ConfigDict(extra="forbid")

    sources: list[SourceRef]
    claims: list[CrossClaim]
    events: list[SourceEvent] = Field(default_factory=list)
    different_events: list[str]
    details: list[InconsistentDetail] = Field(default_factory=list)
    framing: list[SourceFraming]
    compare_stage: StageMetrics
    event_stage: StageMetrics | None = None
