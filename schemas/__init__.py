"""Pydantic models, one module per concept; stage outputs validate quotes against the article."""

from schemas.article import Article
from schemas.bias import BiasAssessment, BiasFinding, BiasKind
from schemas.claims import Claim, ClaimList, ClaimType
from schemas.report import ArticleReport, StageMetrics
from schemas.summary import Summary
from schemas.support import SupportAssessment, SupportVerdict, Verdict

__all__ = [
    "Article",
    "ArticleReport",
    "BiasAssessment",
    "BiasFinding",
    "BiasKind",
    "Claim",
    "ClaimList",
    "ClaimType",
    "StageMetrics",
    "Summary",
    "SupportAssessment",
    "SupportVerdict",
    "Verdict",
]
