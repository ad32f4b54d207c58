"""Docs from code: metadata.yml and README say exactly what the code emits and accepts.

The code's values are read two ways: the exported constants (checks.RULES, model.KINDS ...) and,
so that a constant cannot drift from the code, every literal the code actually emits (the rule
name of each Check, what kind_of and detect_format return, every parse_status given).
"""

from __future__ import annotations

import ast
import re
import sqlite3
from pathlib import Path

import click
import pytest
import yaml
from archive_fixture import archive_path  # noqa: F401

from postprocess import build
from postprocess.cli import main
from postprocess.extract import checks, model

REPO = Path(__file__).resolve().parent.parent
METADATA = yaml.safe_load((REPO / "metadata.yml").read_text(encoding="utf-8"))
TABLES = METADATA["databases"]["archive"]["tables"]
EXTRACT = REPO / "postprocess" / "extract"

# "a (gloss) | b | c (gloss)": the values a column description enumerates.
ENUMERATION = re.compile(r"(?:[\w]+(?: \([^)]*\))?\s*\|\s*)+[\w]+")
GLOSS = re.compile(r" \([^)]*\)")


def documented(table: str, column: str) -> set[str]:
    """The values metadata.yml enumerates for table.column (the first `a | b | c` list)."""
    description = TABLES[table]["columns"][column]
    m = ENUMERATION.search(description)
    assert m, f"{table}.{column}: no `a | b | c` list in {description!r}"
    return {part.strip() for part in GLOSS.sub("", m.group(0)).split("|")}


def test_enumeration_reader():
    TABLES["_probe"] = {"columns": {"c": "Kind: a_1 (甲 | 乙) | b (x, y) | 2019. 说明。"}}
    try:
        assert documented("_probe", "c") == {"a_1", "b", "2019"}
    finally:
        del TABLES["_probe"]


# --- what the code emits -----------------------------------------------------------------------


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_bytes(), filename=str(path))


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def emitted_rules() -> set[str]:
    """First arguments of every Check(...) and _rule(...) call in the extraction layer."""
    found = set()
    for path in EXTRACT.glob("*.py"):
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Call) and _name(node.func) in ("Check", "_rule"):
                first = node.args[0] if node.args else None
                for kw in node.keywords:
                    if kw.arg == "rule":
                        first = kw.value
                if isinstance(first, ast.Constant):
                    found.add(first.value)
                elif not (isinstance(first, ast.Name) and first.id == "rule"):
                    raise AssertionError(f"{path.name}:{node.lineno}: rule name not a literal")
    return found


def returned_literals(path: Path, function: str) -> set[str]:
    """String literals a function returns (the first item where it returns a tuple)."""
    func = next(
        n for n in ast.walk(_tree(path)) if isinstance(n, ast.FunctionDef) and n.name == function
    )
    found = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Return) and node.value is not None:
            value = node.value.elts[0] if isinstance(node.value, ast.Tuple) else node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.add(value.value)
    return found


def given_parse_statuses() -> set[str]:
    """Every literal assigned or passed as parse_status in the extraction layer and the build."""
    found = set()
    for path in [*EXTRACT.glob("*.py"), REPO / "postprocess" / "build.py"]:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.keyword) and node.arg == "parse_status":
                if isinstance(node.value, ast.Constant):
                    found.add(node.value.value)
            if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "parse_status":
                found.add(node.value.value)  # type: ignore[union-attr]
    return found


def test_rules_constant_is_what_the_checks_emit():
    assert emitted_rules() == set(checks.RULES)


def test_kinds_constant_is_what_kind_of_returns():
    assert returned_literals(EXTRACT / "metadata.py", "kind_of") == set(model.KINDS)


def test_formats_constant_is_what_detect_format_returns():
    assert returned_literals(EXTRACT / "figures.py", "detect_format") == set(model.FORMATS)


def test_parse_statuses_constant_is_what_the_code_gives():
    assert given_parse_statuses() <= set(model.PARSE_STATUSES)
    assert set(build.ATTACHMENT_PARSE_STATUS) == set(model.PARSE_STATUSES)


def test_text_sources_constant_is_what_the_build_writes():
    found = set()
    for node in ast.walk(_tree(REPO / "postprocess" / "build.py")):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "text_source":
                    found |= {
                        n.value
                        for n in ast.walk(value)
                        if isinstance(n, ast.Constant) and isinstance(n.value, str)
                    }
    assert found == set(build.TEXT_SOURCES)


# --- metadata.yml documents exactly those -----------------------------------------------------


@pytest.mark.parametrize(
    ("table", "column", "values"),
    [
        ("checks", "rule", checks.RULES),
        ("reports", "kind", model.KINDS),
        ("report_search", "kind", model.KINDS),
        ("reports", "format", model.FORMATS),
        ("report_search", "format", model.FORMATS),
        ("failed_checks", "format", model.FORMATS),
        ("reports", "parse_status", model.PARSE_STATUSES),
        ("attachments", "parse_status", tuple(build.ATTACHMENT_PARSE_STATUS.values())),
        ("reports", "text_source", build.TEXT_SOURCES),
    ],
)
def test_metadata_documents_exactly_the_values(table, column, values):
    assert documented(table, column) == set(values)


# --- README command table -----------------------------------------------------------------------


def readme_commands() -> dict[str, set[str]]:
    """`nianbao CMD [--opt X] ...` rows of README's command table: command -> options."""
    table: dict[str, set[str]] = {}
    for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| `nianbao ([\w-]+)([^`]*)` \|", line)
        if m:
            table[m.group(1)] = set(re.findall(r"--[\w-]+", m.group(2)))
    return table


def cli_commands() -> dict[str, set[str]]:
    """What `nianbao --help` and `nianbao CMD --help` list: command -> options."""
    assert isinstance(main, click.Group)
    return {
        name: {opt for p in cmd.params for opt in p.opts if opt.startswith("--")}
        for name, cmd in main.commands.items()
    }


def test_readme_command_table_matches_nianbao_help():
    assert readme_commands() == cli_commands()


# --- and the real build writes nothing else ------------------------------------------------


@pytest.mark.parametrize(
    ("table", "column", "values"),
    [
        ("checks", "rule", checks.RULES),
        ("reports", "kind", model.KINDS),
        ("reports", "format", model.FORMATS),
        ("reports", "parse_status", model.PARSE_STATUSES),
        ("reports", "text_source", build.TEXT_SOURCES),
    ],
)
def test_built_archive_holds_only_documented_values(archive_path, table, column, values):  # noqa: F811
    with sqlite3.connect(archive_path) as conn:
        found = {r[0] for r in conn.execute(f"SELECT DISTINCT [{column}] FROM [{table}]")}
    conn.close()
    assert found and found <= set(values)


def test_docs_state_the_ranking_bound_the_code_uses():
    from postprocess.storage import search

    bound = f"{search.RANK_MAX:,}"
    queries = METADATA["databases"]["archive"]["queries"]
    assert f"more than {bound} reports" in TABLES["report_search"]["description"]
    assert f"more than {bound} reports" in queries["search"]["description"]
    assert f"more than {bound} reports" in (REPO / "README.md").read_text(encoding="utf-8")
