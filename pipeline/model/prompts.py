"""Prompt templates: one Jinja2 file per stage in prompts/, rendered in a sandbox and hashed."""

from __future__ import annotations

import hashlib
import re
import types
import typing
from enum import Enum
from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import FunctionLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel

SHARED = ("system.j2", "_article.j2")


@cache
def _source(name: str) -> str:
    return files("prompts").joinpath(name).read_text(encoding="utf-8")


@cache
def _env() -> SandboxedEnvironment:
    # Templates load from the installed prompts package, so a wheel install works too.
    env = SandboxedEnvironment(
        loader=FunctionLoader(_source), undefined=StrictUndefined, autoescape=False
    )
    env.filters["as_data"] = as_data
    return env


_DELIMITER = re.compile(r"<(/?)(article)\b", re.IGNORECASE)  # evidence blocks use it too


def as_data(text: object) -> str:
    """Article text that cannot close or reopen the <article> block it is placed in.

    An article holding '</article>' followed by a fake system message would otherwise end the
    data block early in the model's eyes; the tag is shown escaped, everything else verbatim.
    """
    return _DELIMITER.sub(r"&lt;\1\2", str(text))


def prompt_hash(stage: str) -> str:
    """sha256 over the stage template and the shared templates it includes."""
    digest = hashlib.sha256()
    for name in (*SHARED, f"{stage}.j2"):
        digest.update(name.encode() + b"\0" + _source(name).encode("utf-8") + b"\0")
    return digest.hexdigest()


def render_messages(stage: str, **variables: Any) -> list[dict[str, str]]:
    """System message (shared by every stage) and the stage's user message."""
    env = _env()
    system = env.get_template("system.j2").render(**variables).strip()
    user = env.get_template(f"{stage}.j2").render(**variables).strip()
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        inner = _type_name(args[0]) if len(args) == 1 else " or ".join(map(_type_name, args))
        return f"{inner} or null"
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "one of " + ", ".join(m.value for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    if origin is typing.Annotated:
        return _type_name(args[0])
    return getattr(annotation, "__name__", str(annotation))


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def schema_guide(model: type[BaseModel], indent: str = "") -> str:
    """The output fields with their descriptions, for models that see no schema text."""
    lines = []
    for name, field in model.model_fields.items():
        desc = f": {field.description}" if field.description else ""
        lines.append(f"{indent}- {name} ({_type_name(field.annotation)}){desc}")
        nested = _nested_model(field.annotation)
        if nested is not None:
            lines.append(schema_guide(nested, indent + "  "))
    return "\n".join(lines)
