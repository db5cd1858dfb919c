"""Every audit code the bridge records has a French sentence for the pages (#20 item 6).

The codes are read from the source: each call of `record(session, actor, <code>, …)` in
`bridge/`, whether the code is written out, chosen between two, held in a module constant,
or built from a helper's argument (`f"bpf.{action}"` with the values its callers pass)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from bridge.audit.labels import ACTION_LABELS, action_label, action_sentence
from bridge.settings import REPO_ROOT

BRIDGE = REPO_ROOT / "bridge"


def _constants(tree: ast.Module) -> dict[str, str]:
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    found[target.id] = node.value.value
    return found


def _imported_constants(tree: ast.Module) -> dict[str, str]:
    """Constants imported from another module of the bridge (`from bridge.x import NAME`)."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bridge"):
            module = BRIDGE.parent / Path(*node.module.split("."))
            source = module.with_suffix(".py") if module.with_suffix(".py").exists() else None
            source = source or (module / "__init__.py")
            if source.exists():
                theirs = _constants(ast.parse(source.read_text(encoding="utf-8")))
                found.update({a.name: theirs[a.name] for a in node.names if a.name in theirs})
    return found


def _values_passed(tree: ast.Module, function: str, parameter: str) -> Iterator[str]:
    """The string constants the module passes to `function`'s `parameter`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            names = [a.arg for a in node.args.args if a.arg != "self"]
            index = names.index(parameter)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            if called == function and len(node.args) > index:
                argument = node.args[index]
                assert isinstance(argument, ast.Constant), ast.dump(argument)
                yield str(argument.value)


def _codes(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = _constants(tree) | _imported_constants(tree)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}

    def resolve(node: ast.expr) -> Iterator[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value
        elif isinstance(node, ast.IfExp):
            yield from resolve(node.body)
            yield from resolve(node.orelse)
        elif isinstance(node, ast.Name) and node.id in constants:
            yield constants[node.id]
        elif isinstance(node, ast.JoinedStr):
            [prefix, hole] = node.values
            assert isinstance(prefix, ast.Constant)
            assert isinstance(hole, ast.FormattedValue)
            assert isinstance(hole.value, ast.Name)
            function: ast.AST = node
            while not isinstance(function, ast.FunctionDef):
                function = parents[function]
            for value in _values_passed(tree, function.name, hole.value.id):
                yield f"{prefix.value!s}{value}"
        else:
            raise AssertionError(f"{path}: code d'audit illisible {ast.dump(node)}")

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        if node.func.id == "record" and len(node.args) >= 3:
            yield from resolve(node.args[2])


def recorded_codes() -> set[str]:
    return {code for path in BRIDGE.rglob("*.py") for code in _codes(path)}


def test_every_audit_code_recorded_in_the_bridge_has_a_french_sentence() -> None:
    codes = recorded_codes()
    assert len(codes) > 30  # the reading found the calls (every package records)
    assert {"bpf.depot", "bpf.enregistrement", "compte-supprime"} <= codes
    missing = sorted(codes - ACTION_LABELS.keys())
    assert missing == [], f"codes d'audit sans phrase : {missing}"


def test_no_sentence_is_kept_for_a_code_the_bridge_no_longer_records() -> None:
    assert sorted(ACTION_LABELS.keys() - recorded_codes()) == []


def test_an_unknown_code_never_shows_itself() -> None:
    assert action_label("code-inconnu") == "Autre événement"


def test_a_sentence_names_the_roles_in_words() -> None:
    labels = {"declarant": "Déclarant", "gestionnaire": "Gestionnaire"}.__getitem__
    assert (
        action_sentence(
            "habilitation-modifiee", {"ancien_role": "declarant", "role": "gestionnaire"}, labels
        )
        == "Habilitation modifiée : Déclarant devient Gestionnaire"
    )
    assert action_sentence("habilitation-accordee", {"role": "declarant"}, labels) == (
        "Habilitation accordée : Déclarant"
    )
    assert action_sentence("compte-supprime", {}, labels) == "Compte supprimé"
