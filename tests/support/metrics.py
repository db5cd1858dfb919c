"""Prometheus' text format and PromQL selectors, just enough to check that a rule or a
dashboard names series that exist: which (name, labels) a real /metrics serves, and which
selectors (name and label matchers) an expression uses."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_SAMPLE = re.compile(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+\S+")
_LABEL = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
_SELECTOR = re.compile(r"\b((?:bridge|keycloak)_\w+)\s*(\{[^}]*\})?")


@dataclass(frozen=True)
class Selector:
    """`name{label op "value", ...}` as written in an expression."""

    text: str
    name: str
    matchers: tuple[tuple[str, str, str], ...]

    def matches(self, name: str, labels: dict[str, str]) -> bool:
        if name != self.name:
            return False
        for label, op, value in self.matchers:
            found = labels.get(label, "")
            hit = re.fullmatch(value, found) is not None if "~" in op else found == value
            if hit != (op in {"=", "=~"}):
                return False
        return True


def samples(exposition: str) -> list[tuple[str, dict[str, str]]]:
    """Every sample line of a /metrics body: its name and labels."""
    found = []
    for line in exposition.splitlines():
        sample = _SAMPLE.match(line)
        if sample:
            labels = {key: value for key, _, value in _LABEL.findall(sample.group(2) or "")}
            found.append((sample.group(1), labels))
    return found


def selectors(expression: str) -> list[Selector]:
    """The bridge's and Keycloak's series an expression reads (other names are ignored)."""
    return [
        Selector(
            match.group(0).strip(), match.group(1), tuple(_LABEL.findall(match.group(2) or ""))
        )
        for match in _SELECTOR.finditer(expression)
    ]


def unserved(expressions: Iterable[str], exposition: str, prefix: str) -> list[str]:
    """The selectors starting with `prefix` that no sample of `exposition` matches."""
    served = samples(exposition)
    return sorted(
        {
            selector.text
            for expression in expressions
            for selector in selectors(expression)
            if selector.name.startswith(prefix)
            and not any(selector.matches(name, labels) for name, labels in served)
        }
    )
