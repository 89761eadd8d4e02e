"""Pydantic models, one module per concept; stage outputs validate quotes against the article."""

from schemas.article import Article
from schemas.bias import BiasAssessment, BiasFinding, BiasKind
from schemas.claims import Claim, ClaimPicks, ClaimType
from schemas.report import ArticleReport, StageMetrics
from schemas.sentence import Sentence, SentenceLabel
from schemas.summary import Summary
from schemas.support import SentenceJudgments, SupportVerdict, Verdict

__all__ = [
    "Article",
    "ArticleReport",
    "BiasAssessment",
    "BiasFinding",
    "BiasKind",
    "Claim",
    "ClaimPicks",
    "ClaimType",
    "Sentence",
    "SentenceJudgments",
    "SentenceLabel",
    "StageMetrics",
    "Summary",
    "SupportVerdict",
    "Verdict",
]
