"""Deserializer's members as a type checker sees them, and as they are at run time."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

from hop import models
from hop.io import Deserializer, _deserializer


def _declared_members() -> dict[str, str]:
    """The members declared for type checkers in _deserializer.py: name -> models attribute."""
    tree = ast.parse(Path(_deserializer.__file__).read_text())
    for node in tree.body:
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING"
        ):
            classes = [c for c in node.body if isinstance(c, ast.ClassDef)]
            assert [c.name for c in classes] == ["Deserializer"]
            declared: dict[str, str] = {}
            for statement in classes[0].body:
                if isinstance(statement, ast.Assign):
                    (target,) = statement.targets
                    assert isinstance(target, ast.Name)
                    assert isinstance(statement.value, ast.Attribute)
                    declared[target.id] = statement.value.attr
            return declared
    raise AssertionError("no 'if TYPE_CHECKING:' Deserializer declaration")


def test_declared_members_are_the_builtin_formats() -> None:
    declared = _declared_members()
    builtins = {name.upper() for name in models._BUILTIN_NAMES}
    assert set(declared) == builtins
    for member, attribute in declared.items():
        assert Deserializer[member].value is getattr(models, attribute)


def test_members_type_check(tmp_path: Path) -> None:
    good = tmp_path / "good.py"
    good.write_text(
        textwrap.dedent(
            """
            from __future__ import annotations

            from hop.io import Deserializer
            from hop.models import MessageModel, VOEvent

            event: MessageModel = Deserializer.VOEVENT.load_file("event.xml")
            model: type[VOEvent] = Deserializer.VOEVENT.value
            names: list[str] = [member.name for member in Deserializer]
            plugin: Deserializer = Deserializer["DONUT"]
            for member in (Deserializer.AVRO, Deserializer.BLOB, Deserializer.CIRCULAR,
                           Deserializer.GCNTEXTNOTICE, Deserializer.JSON):
                member.load(b"")
            """
        )
    )
    bad = tmp_path / "bad.py"
    bad.write_text("from hop.io import Deserializer\nDeserializer.NO_SUCH_FORMAT.load(b'')\n")

    def mypy(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--cache-dir", "/dev/null", str(path)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    result = mypy(good)
    assert result.returncode == 0, result.stdout + result.stderr
    result = mypy(bad)
    assert result.returncode == 1
    assert 'has no attribute "NO_SUCH_FORMAT"' in result.stdout
