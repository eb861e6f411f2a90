"""The names users already import are promises: every one stays importable.

Each public module's ``__all__`` must name only what exists, and must list every public
class and function the module defines (so nothing public is forgotten from the docs).
"""

from __future__ import annotations

import importlib
import inspect

import pytest

PUBLIC_MODULES = [
    "hop",
    "hop.io",
    "hop.models",
    "hop.auth",
    "hop.configure",
    "hop.plugins",
    "hop.robust_publisher",
    "hop.cli",
    "hop.version",
    "hop.errors",
]

# Names from the documented hop-client API and the issues, module by module.
DOCUMENTED = {
    "hop": ["stream", "Stream", "StartPosition", "__version__", "io", "models", "list_topics"],
    "hop.io": [
        "Stream",
        "StartPosition",
        "Producer",
        "Consumer",
        "Metadata",
        "Deserializer",
        "list_topics",
        "stream",
    ],
    "hop.models": [
        "MessageModel",
        "Blob",
        "JSONBlob",
        "VOEvent",
        "GCNCircular",
        "GCNTextNotice",
        "AvroBlob",
        "format_name",
    ],
    "hop.auth": [
        "Auth",
        "load_auth",
        "select_matching_auth",
        "write_auth_data",
        "read_new_credential",
        "add_credential",
        "delete_credential",
        "list_credentials",
        "prune_outdated_auth",
    ],
    "hop.configure": ["get_config_path"],
    "hop.plugins": ["register"],
    "hop.robust_publisher": ["RobustProducer", "PublicationJournal"],
    "hop.cli": ["main", "add_client_opts", "add_logging_opts", "get_log_level", "set_up_logger"],
    "hop.version": ["get_packages", "print_packages_versions", "__version__"],
    "hop.errors": ["HopError"],
}


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported, f"{name} has no __all__"
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ names {attr}, which does not exist"


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_public_definitions_are_exported(name: str) -> None:
    module = importlib.import_module(name)
    for attr, value in vars(module).items():
        if attr.startswith("_") or not (inspect.isclass(value) or inspect.isfunction(value)):
            continue
        if getattr(value, "__module__", None) != name:
            continue  # imported from elsewhere
        assert attr in module.__all__, f"{name}.{attr} is public but missing from __all__"


@pytest.mark.parametrize(("name", "attrs"), sorted(DOCUMENTED.items()))
def test_documented_names_are_importable(name: str, attrs: list[str]) -> None:
    module = importlib.import_module(name)
    for attr in attrs:
        assert hasattr(module, attr), f"{name}.{attr} is documented but missing"


def test_stream_open_keeps_its_documented_signature() -> None:
    from hop.io import StartPosition, Stream

    init = inspect.signature(Stream.__init__).parameters
    assert init["auth"].default is True
    assert init["start_at"].default is StartPosition.LATEST
    assert init["until_eos"].default is False
    params = inspect.signature(Stream.open).parameters
    assert list(params)[:5] == ["self", "url", "mode", "group_id", "ignoretest"]
    assert params["mode"].default == "r" and params["ignoretest"].default is True
