"""The house's rules, read from the source: no import cycle, no arrow against the layers,
one import style, no module over 700 lines, every documented name importable, and hop
starting on a platform without ``fcntl``."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
HOP = SRC / "hop"

#: Which areas each area may import (an area is a subpackage or a top-level module of hop).
#: Lower layers never import higher ones: models never import io, auth never imports io.
LEAVES = {"errors", "_kafka_codes", "_ratelimit", "_duration", "_toml", "version"}
ALLOWED: dict[str, set[str]] = {
    "_kafka_codes": set(),
    "errors": {"_kafka_codes"},
    "_ratelimit": {"errors"},
    "_duration": {"errors"},
    "_toml": {"errors"},
    "version": set(),
    "_local_broker": {"errors"},
    "configure": {"errors", "_toml", "_duration"},
    "auth": LEAVES | {"configure"},
    # models read the schema_registry setting (for Rubin-style records) from configure.
    "models": LEAVES | {"configure"},
    "plugins": LEAVES | {"models"},
    "_journal": LEAVES,
    "io": LEAVES | {"configure", "auth", "models", "plugins"},
    "robust_publisher": LEAVES | {"io", "_journal", "auth", "models"},
    "aio": LEAVES | {"io", "auth", "models", "configure", "robust_publisher"},
}
#: Areas at the top: they may import anything.
TOP = {"__init__", "__main__", "cli"}
MAX_LINES = 700


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(HOP.rglob("*.py"))}


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _type_checking_lines(tree: ast.AST) -> set[int]:
    """Lines inside ``if TYPE_CHECKING:`` blocks (imports there are for the type checker)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports(module: str, path: Path) -> Iterator[tuple[str, int, int]]:
    """(imported hop module, line, level) for every import of hop's own code that runs."""
    known = modules()
    tree = ast.parse(path.read_text())
    skip = _type_checking_lines(tree)
    package = module if is_package(path) else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "hop":
                    yield alias.name, node.lineno, 0
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] != "hop":
                continue
            for alias in node.names:
                target = f"{base}.{alias.name}"
                yield (target if target in known else base), node.lineno, node.level


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for module, path in modules().items():
        edges[module] = {target for target, _, _ in imports(module, path) if target != module}
    return edges


def test_no_import_cycle() -> None:
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in list(edges):
        if node not in index:
            visit(node)
    assert cycles == []


def test_no_arrow_against_the_layers() -> None:
    wrong = []
    for module, targets in graph().items():
        source = area(module)
        if source in TOP:
            continue
        assert source in ALLOWED, f"{module}: area {source!r} has no place in the layers"
        for target in targets:
            destination = area(target)
            if destination != source and destination not in ALLOWED[source]:
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_relative_inside_a_package_absolute_across() -> None:
    wrong = []
    for module, path in modules().items():
        directory = module if is_package(path) else module.rsplit(".", 1)[0]
        for target, line, level in imports(module, path):
            target_directory = target.rsplit(".", 1)[0]
            if target_directory == directory and target != directory and level == 0:
                wrong.append(f"{module}:{line}: absolute import of {target}, a neighbour")
            if level and target_directory != directory and target != directory:
                wrong.append(f"{module}:{line}: relative import of {target}, another package")
    assert wrong == []


def test_no_module_is_over_700_lines() -> None:
    sizes = {module: len(path.read_text().splitlines()) for module, path in modules().items()}
    assert {module: size for module, size in sizes.items() if size > MAX_LINES} == {}


def importable() -> list[str]:
    """Every module but ``hop.__main__``, which runs the command line when imported."""
    return sorted(module for module in modules() if module != "hop.__main__")


def test_every_module_imports() -> None:
    for module in importable():
        importlib.import_module(module)


#: The names users import, by module (the README, docs/ and hop-client 0.13's manual).
DOCUMENTED = {
    "hop": ["Stream", "StartPosition", "list_topics", "stream", "HopError", "__version__"],
    "hop.io": [
        "Stream",
        "StartPosition",
        "list_topics",
        "stream",
        "Producer",
        "Consumer",
        "Metadata",
        "Deserializer",
    ],
    "hop.models": [
        "MessageModel",
        "Blob",
        "JSONBlob",
        "VOEvent",
        "GCNCircular",
        "GCNTextNotice",
        "AvroBlob",
        "ExternalMessage",
        "format_name",
        "register_model",
        "registered_models",
        "unregister_model",
        "encode",
        "decode",
    ],
    "hop.auth": [
        "Auth",
        "SASLMethod",
        "load_auth",
        "select_matching_auth",
        "add_credential",
        "prune_outdated_auth",
    ],
    "hop.robust_publisher": ["RobustProducer", "PublicationJournal", "PendingLimitError"],
    "hop.configure": ["Config", "load_config", "get_config_path"],
    "hop.plugins": ["register"],
    "hop.errors": ["HopError", "KafkaError", "DeliveryError", "JournalError", "ends_client"],
    "hop.version": ["__version__"],
}


@pytest.mark.parametrize("module", sorted(DOCUMENTED))
def test_documented_names_import(module: str) -> None:
    imported = importlib.import_module(module)
    missing = [name for name in DOCUMENTED[module] if not hasattr(imported, name)]
    assert missing == []


def test_hop_starts_without_fcntl() -> None:
    """On a platform with no ``fcntl`` (Windows), every module imports and every command's
    help prints."""
    names = importable()
    code = f"""
import importlib, sys
sys.modules["fcntl"] = None  # import fcntl now raises ImportError
for name in {names!r}:
    importlib.import_module(name)
from hop.cli import main
for argv in (["--help"], ["publish", "--help"], ["subscribe", "--help"],
             ["journal", "--help"], ["list-topics", "--help"], ["auth", "--help"]):
    try:
        main(argv)
    except SystemExit as exc:
        assert exc.code == 0, (argv, exc.code)
print("started")
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("started")


def test_the_journal_locks_without_fcntl_where_msvcrt_is_missing_too(tmp_path: Path) -> None:
    """With neither lock module, opening a journal is a clear JournalError, not a crash."""
    code = f"""
import sys
sys.modules["fcntl"] = None
sys.modules["msvcrt"] = None
from hop.robust_publisher import PublicationJournal
from hop.errors import JournalError
try:
    PublicationJournal({str(tmp_path / "j")!r})
except JournalError as exc:
    print("refused:", exc)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "refused: cannot lock the journal" in result.stdout
    assert "no file locking" in result.stdout
