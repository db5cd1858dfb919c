"""The glossary of `docs/architecture.md` names every French word the code sends out.

Read from the source, so a new word fails here until the glossary has it: the audit codes
(`bridge/audit/labels.py`, itself checked against every `record` call), the problem codes
(`code = "…"` class attributes of the errors), the log events (the first argument of a
logger's call) and the verbs and options of `python -m bridge`. A word counts as named when
it stands in a code span of the glossary, alone or beside others (`operateur
designer|retirer`, `--diff`/`--forcer`)."""

from __future__ import annotations

import argparse
import ast
import re
from collections.abc import Iterator

from bridge.audit.labels import ACTION_LABELS
from bridge.cli import build_parser
from bridge.settings import REPO_ROOT

BRIDGE = REPO_ROOT / "bridge"
LOG_CALLS = {"debug", "info", "warning", "error", "exception", "critical"}


def _glossary_words() -> set[str]:
    text = (REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    start = text.index("## Glossary")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else len(text)]
    words: set[str] = set()
    for span in re.findall(r"`([^`]+)`", section):
        words.update(w for w in re.split(r"[\s|/,]+", span) if w)
    return words


def _trees() -> Iterator[ast.Module]:
    for path in sorted(BRIDGE.rglob("*.py")):
        if "migrations" not in path.parts:
            yield ast.parse(path.read_text(encoding="utf-8"))


def _problem_codes() -> set[str]:
    codes: set[str] = set()
    for tree in _trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            for statement in node.body:
                if (
                    isinstance(statement, ast.Assign)
                    and [ast.unparse(t) for t in statement.targets] == ["code"]
                    and isinstance(statement.value, ast.Constant)
                    and isinstance(statement.value.value, str)
                ):
                    codes.add(statement.value.value)
    return codes


def _is_logger(node: ast.expr) -> bool:
    """`log`, `logger`, or `logging.getLogger(…)` itself."""
    if isinstance(node, ast.Name):
        return node.id in {"log", "logger"}
    return isinstance(node, ast.Call) and ast.unparse(node.func) == "logging.getLogger"


def _log_events() -> set[str]:
    events: set[str] = set()
    for tree in _trees():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in LOG_CALLS
                and _is_logger(node.func.value)
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                events.add(node.args[0].value)
    return events


def _cli_words(parser: argparse.ArgumentParser) -> set[str]:
    words: set[str] = set()
    for action in parser._actions:
        words.update(o for o in action.option_strings if o.startswith("--") and o != "--help")
        if isinstance(action, argparse._SubParsersAction):
            for verb, sub in action.choices.items():
                words.add(verb)
                words |= _cli_words(sub)
    return words


def test_the_sources_are_read() -> None:
    """Guards the readers themselves: a reader that finds nothing would pass anything."""
    assert "jeton-invalide" in _problem_codes()
    assert "erreur-inattendue" in _log_events()
    assert {"operateur", "sans-gestionnaire", "--forcer"} <= _cli_words(build_parser())


def test_every_audit_code_is_in_the_glossary() -> None:
    assert sorted(set(ACTION_LABELS) - _glossary_words()) == []


def test_every_problem_code_is_in_the_glossary() -> None:
    assert sorted(_problem_codes() - _glossary_words()) == []


def test_every_log_event_is_in_the_glossary() -> None:
    assert sorted(_log_events() - _glossary_words()) == []


def test_every_cli_verb_and_option_is_in_the_glossary() -> None:
    assert sorted(_cli_words(build_parser()) - _glossary_words()) == []


def test_every_setting_of_the_bridge_is_in_the_readme() -> None:
    """An operator finds each `BRIDGE_*` setting, with its default, in README « Configuration »."""
    from bridge.settings import Settings

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\s*\| (`BRIDGE_[^|]+)\|", readme, re.MULTILINE)  # first cells
    named = {n for row in rows for n in re.findall(r"`(BRIDGE_[A-Z_]+)`", row)}
    missing = [
        f"BRIDGE_{n.upper()}" for n in Settings.model_fields if f"BRIDGE_{n.upper()}" not in named
    ]
    assert not missing, f"absents du README : {missing}"
