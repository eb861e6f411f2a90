"""Plugin discovery: packages installed into a temporary directory, found by entry point."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import logging
import os
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hop import models, plugins
from hop.io import StartPosition, Stream
from hop.io._deserializer import build_deserializer
from hop.models import Blob, JSONBlob, decode, encode, registered_models

DONUT_SOURCE = '''
from dataclasses import dataclass
from typing import ClassVar

from hop import plugins
from hop.models import MessageModel


@dataclass
class Donut(MessageModel):
    flavor: str
    holes: int = 1


@dataclass
class Muffin(MessageModel):
    """Travels as plain text, not as the default JSON of its fields."""

    format_name: ClassVar[str] = "muffin"
    kind: str

    def serialize(self):
        return {"format": "muffin", "content": ("MUFFIN " + self.kind).encode()}

    @classmethod
    def deserialize(cls, data):
        text = data.decode()
        if not text.startswith("MUFFIN "):
            raise ValueError("not a muffin")
        return cls(text[len("MUFFIN "):])

    @classmethod
    def load(cls, input_):
        data = input_.read() if hasattr(input_, "read") else input_
        if isinstance(data, str):
            data = data.encode()
        return cls.deserialize(data)


@plugins.register
def get_models():
    return {"donut": Donut, "muffin": Muffin}
'''

#: A plugin package: (package name, source of its __init__.py, hop_plugin entry points).
PluginPackage = tuple[str, str, dict[str, str]]
InstallPlugin = Callable[..., Path]

DONUT: PluginPackage = ("hop_donut", DONUT_SOURCE, {"donut": "hop_donut"})


def build_wheel(directory: Path, package: str, source: str, entry_points: dict[str, str]) -> Path:
    """Build a wheel of a one-module plugin package, declaring ``hop_plugin`` entry points.

    Written by hand (a wheel is a zip file with a ``.dist-info`` directory) because the test
    environment has no wheel-building backend and no network.

    Returns:
        The wheel's path.
    """
    dist = package.replace("-", "_")
    info = f"{dist}-0.1.dist-info"
    lines = [f"{name} = {target}" for name, target in entry_points.items()]
    files = {
        f"{package}/__init__.py": textwrap.dedent(source).encode(),
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {package.replace('_', '-')}\nVersion: 0.1\n"
        ).encode(),
        f"{info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: hop-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
        f"{info}/entry_points.txt": ("[hop_plugin]\n" + "\n".join(lines) + "\n").encode(),
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = directory / f"{dist}-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


@pytest.fixture
def install_plugin(tmp_path: Path) -> Iterator[InstallPlugin]:
    """Build plugin packages and pip-install them into a directory put on sys.path.

    Everything is undone afterwards: the directory leaves sys.path, the plugins' modules
    leave sys.modules, and discovery runs again.
    """
    site = tmp_path / "site-packages"
    site.mkdir()
    modules: list[str] = []

    def install(*packages: PluginPackage) -> Path:
        # One pip run for all of them: each run costs about a second.
        wheels = [str(build_wheel(tmp_path, *package)) for package in packages]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-index",
                "--no-deps",
                "--no-compile",
                "--disable-pip-version-check",
                "--target",
                str(site),
                *wheels,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        modules.extend(package for package, _, _ in packages)
        return site

    sys.path.insert(0, str(site))
    try:
        yield install
    finally:
        sys.path.remove(str(site))
        for name in modules:
            sys.modules.pop(name, None)
        plugins.discover()
        assert not plugins.plugin_models()


def test_plugin_is_discovered_and_its_models_registered(install_plugin: InstallPlugin) -> None:
    site = install_plugin(DONUT)
    distribution = importlib.metadata.distribution("hop-donut")
    assert distribution.read_text("INSTALLER") == "pip\n"  # installed by pip, from a wheel
    assert Path(str(distribution.locate_file("hop_donut"))).parent == site
    assert [(e.name, e.value) for e in distribution.entry_points if e.group == "hop_plugin"] == [
        ("donut", "hop_donut")
    ]
    assert "donut" not in registered_models()
    plugins.discover()
    known: dict[str, Any] = registered_models()  # plugin classes: unknown to type checkers
    assert known["donut"].__module__ == "hop_donut"
    assert plugins.plugin_models() == {"donut": "donut", "muffin": "donut"}
    assert plugins.get_plugin_manager().has_plugin("donut")

    deserializer: Any = build_deserializer()
    donut = deserializer["DONUT"].load('{"flavor": "jam", "holes": 0}')
    assert donut == known["donut"]("jam", 0)
    label, body = encode(donut)
    assert label == "donut"
    assert json.loads(body) == {"flavor": "jam", "holes": 0}
    assert decode(body, label) == donut

    muffin = deserializer.MUFFIN.load("MUFFIN blueberry")
    assert encode(muffin) == ("muffin", b"MUFFIN blueberry")
    assert decode(b"MUFFIN bran", "muffin") == known["muffin"]("bran")
    assert decode(b"CAKE", "muffin") == Blob(b"CAKE")  # its deserialize raised


def test_plugin_model_round_trips_through_the_broker(
    install_plugin: InstallPlugin, topic_url: str
) -> None:
    install_plugin(DONUT)
    plugins.discover()
    known: dict[str, Any] = registered_models()
    donut, muffin = known["donut"], known["muffin"]
    sent = [donut("glazed", 1), muffin("bran"), donut("jam", 0)]
    with Stream(auth=False).open(topic_url, "w") as producer:
        for message in sent:
            producer.write(message, key=b"k")  # one partition: read back in order
    reader = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
    with reader.open(topic_url, "r") as consumer:
        received = list(consumer)
    assert received == sent
    assert [type(m) for m in received] == [donut, muffin, donut]


def test_plugin_models_file_loading(install_plugin: InstallPlugin, tmp_path: Path) -> None:
    install_plugin(DONUT)
    plugins.discover()
    path = tmp_path / "d.json"
    path.write_text('{"flavor": "maple"}')
    known: dict[str, Any] = registered_models()
    assert build_deserializer()["DONUT"].load_file(path) == known["donut"]("maple")


def test_rediscovery_forgets_uninstalled_plugins(install_plugin: InstallPlugin) -> None:
    site = install_plugin(DONUT)
    plugins.discover()
    assert "donut" in registered_models()
    sys.path.remove(str(site))
    try:
        plugins.discover()
        assert "donut" not in registered_models()
        assert "DONUT" not in build_deserializer().__members__
        assert decode(b'{"flavor": "x"}', "donut") == Blob(b'{"flavor": "x"}')
    finally:
        sys.path.insert(0, str(site))


def test_plugin_found_when_hop_is_imported(install_plugin: InstallPlugin) -> None:
    site = install_plugin(DONUT)
    script = textwrap.dedent(
        """
        import hop
        from hop.io import Deserializer
        from hop.models import decode, encode
        donut = Deserializer["DONUT"].load('{"flavor": "cinnamon", "holes": 2}')
        label, body = encode(donut)
        assert decode(body, label) == donut, decode(body, label)
        print(label, type(donut).__module__, Deserializer.MUFFIN.name)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["donut", "hop_donut", "MUFFIN"]


def test_broken_plugin_is_skipped_with_a_warning(
    install_plugin: InstallPlugin, caplog: pytest.LogCaptureFixture
) -> None:
    install_plugin(
        ("hop_broken", "raise RuntimeError('kaboom')\n", {"broken": "hop_broken"}),
        DONUT,
        ("hop_missing", "", {"missing": "hop_missing.nowhere:thing"}),
    )
    with caplog.at_level(logging.WARNING, logger="hop.plugins"):
        plugins.discover()
    assert "'broken'" in caplog.text and "kaboom" in caplog.text
    assert "'missing'" in caplog.text
    assert "donut" in registered_models()


def test_failing_hook_is_skipped_with_a_warning(
    install_plugin: InstallPlugin, caplog: pytest.LogCaptureFixture
) -> None:
    failing = """
        from hop import plugins

        @plugins.register
        def get_models():
            raise KeyError("no models today")
        """
    wrongtype = """
        from hop import plugins

        @plugins.register
        def get_models():
            return {"notamodel": dict, 3: object}
        """
    install_plugin(
        ("hop_failing", failing, {"failing": "hop_failing"}),
        ("hop_wrongtype", wrongtype, {"wrongtype": "hop_wrongtype"}),
        DONUT,
    )
    with caplog.at_level(logging.WARNING, logger="hop.plugins"):
        plugins.discover()
    assert "no models today" in caplog.text
    assert "'notamodel'" in caplog.text
    assert "notamodel" not in registered_models()
    assert "donut" in registered_models()


def test_two_plugins_claiming_one_name(
    install_plugin: InstallPlugin, caplog: pytest.LogCaptureFixture
) -> None:
    rival = """
        from dataclasses import dataclass
        from hop import plugins
        from hop.models import MessageModel

        @dataclass
        class RivalDonut(MessageModel):
            sprinkles: bool

        @plugins.register
        def get_models():
            return {"DONUT": RivalDonut, "json": RivalDonut}
        """
    install_plugin(DONUT, ("hop_rival", rival, {"rival": "hop_rival"}))
    with caplog.at_level(logging.WARNING, logger="hop.plugins"):
        plugins.discover()
    assert "both provide format 'donut'" in caplog.text
    assert "already registered" in caplog.text  # the claim on the built-in "json"
    assert registered_models()["json"] is JSONBlob
    winner = plugins.plugin_models()["donut"]
    assert winner in ("donut", "rival")
    assert registered_models()["donut"].__module__ == f"hop_{winner}"
    assert decode(b"[1]", "json") == JSONBlob([1])


def test_builtins_cannot_be_unregistered_by_rediscovery() -> None:
    plugins.discover()
    for name in ("blob", "json", "voevent", "circular", "gcntextnotice", "avro"):
        assert name in registered_models()
    assert models.format_name(registered_models()["circular"]) == "circular"
