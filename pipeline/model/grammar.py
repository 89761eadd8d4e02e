"""Compact JSON for llama.cpp servers: a GBNF grammar from a response model's JSON schema that
allows no whitespace between tokens.

llama-server turns a ``response_format`` JSON schema into a grammar whose ``space`` rule lets
the model write a newline and indentation between any two tokens, and a small model does: a
quarter of its structured answers' tokens were whitespace (``docs/measurements.md``), and on
2 cores every written token costs about 0.1 s. The grammar sent instead is llama.cpp's own
conversion of the same schema, by the Python port of its converter in the llama-cpp-python
sources that ``newsaudit setup-local`` builds llama-server from (MIT; installed beside the
server, see ``pipeline.model.local_model.install_converter``), with two rules replaced:

- ``space`` matches nothing, so the answer is one line of JSON with no optional whitespace;
- ``char`` excludes control characters, as llama-server's C++ converter does (the port lets a
  raw newline into a string, which JSON forbids).

Nothing here assumes a vocabulary: the grammar constrains characters, and any model the
server runs writes compact JSON. instructor still validates the answer.
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from pipeline.core.errors import SetupError
from pipeline.model.local_model import converter_path

NO_SPACE = 'space ::= ""'
# llama-server's own string character rule (common/json-schema-to-grammar.cpp).
JSON_CHAR = r'char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})'
_RULE = re.compile(r"^(?P<name>[A-Za-z0-9-]+) ::= ", re.MULTILINE)


@cache
def _converter(path: Path) -> ModuleType:
    """The converter module, loaded from its file (it is not an installed package)."""
    if not path.exists():
        raise SetupError(
            f"grammar converter not found at {path}: run `newsaudit setup-local` "
            "(or `--embeddings-only`) to install it"
        )
    spec = importlib.util.spec_from_file_location("newsaudit_llama_grammar", path)
    if spec is None or spec.loader is None:
        raise SetupError(f"{path}: not a loadable Python file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _replace_rule(grammar: str, name: str, rule: str) -> str:
    """The grammar with rule ``name`` replaced; an error when the converter wrote none."""
    lines = grammar.splitlines()
    found = [i for i, line in enumerate(lines) if line.startswith(f"{name} ::= ")]
    if not found:
        raise SetupError(f"grammar converter wrote no '{name}' rule; it cannot be made compact")
    for i in found:
        lines[i] = rule
    return "\n".join(lines) + "\n"


def schema_grammar(schema: dict[str, Any], converter: Path | None = None) -> str:
    """llama.cpp's grammar for a JSON schema, as the converter writes it (whitespace allowed)."""
    module = _converter(converter or converter_path())
    convert = module.SchemaConverter(
        prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False
    )
    resolved = convert.resolve_refs(json.loads(json.dumps(schema)), "")
    convert.visit(resolved, "")
    return str(convert.format_grammar())


def compact_grammar(schema: dict[str, Any], converter: Path | None = None) -> str:
    """The grammar of ``schema`` with no whitespace between tokens and no control characters
    in strings."""
    grammar = schema_grammar(schema, converter)
    if "char ::= " in grammar:  # a schema without strings has no char rule
        grammar = _replace_rule(grammar, "char", JSON_CHAR)
    return _replace_rule(grammar, "space", NO_SPACE)


def rule_names(grammar: str) -> set[str]:
    """The names a grammar defines (for tests and diagnostics)."""
    return {m.group("name") for m in _RULE.finditer(grammar)}
