"""``Deserializer``: an Enum of every known message model, built-in and from plugins.

Re-exported as ``hop.io.Deserializer``. Members are the upper-cased format names
(``Deserializer.VOEVENT``, ``Deserializer.JSON``, ``Deserializer["DONUT"]`` for a plugin);
each member's value is the model class, and ``load()`` / ``load_file()`` read a model of
that format. The Enum is built when this module is imported, after plugin discovery.
"""

from __future__ import annotations

import os
from enum import Enum
from typing import TYPE_CHECKING, Any

from hop import models, plugins

__all__ = ["Deserializer", "build_deserializer"]


class _DeserializerBase(Enum):
    """Methods shared by every member of :data:`Deserializer`."""

    @property
    def model(self) -> type[models.MessageModel]:
        """The model class of this format."""
        cls: type[models.MessageModel] = self.value
        return cls

    def load(self, input_: Any) -> models.MessageModel:
        """Read a model of this format.

        Args:
            input_: str, bytes or a file object, as the model's ``load()`` accepts.

        Returns:
            The model.

        Raises:
            DecodeError: the input is not in this format.
        """
        return self.model.load(input_)

    def load_file(self, path: str | os.PathLike[str]) -> models.MessageModel:
        """Read a model of this format from a file.

        Args:
            path: the file.

        Returns:
            The model.

        Raises:
            OSError: the file cannot be read.
            DecodeError: the file is not in this format.
        """
        return self.model.load_file(path)


def build_deserializer() -> type[_DeserializerBase]:
    """Build the Enum from the models registered now.

    Returns:
        A new Enum class named ``Deserializer``.
    """
    plugins.get_plugin_manager()  # makes sure plugin discovery has run
    members = {name.upper(): cls for name, cls in sorted(models.registered_models().items())}
    # One class registered under two names makes the second name an alias of the first.
    # Enum's functional API on a member-less base; mypy does not model that call.
    functional: Any = _DeserializerBase
    built: type[_DeserializerBase] = functional(
        "Deserializer", list(members.items()), module=__name__, qualname="Deserializer"
    )
    return built


if TYPE_CHECKING:
    # What type checkers see: the built-in members, declared. At run time the Enum is built
    # from the registry instead, so that it also holds the plugins' formats
    # (``Deserializer["DONUT"]``); a test keeps these declarations equal to the built-ins.

    class Deserializer(_DeserializerBase):
        """Every known message format (built in here; plugins add members at run time)."""

        AVRO = models.AvroBlob
        AVRORECORD = models.AvroRecord
        BLOB = models.Blob
        CIRCULAR = models.GCNCircular
        EXTERNAL = models.ExternalMessage
        GCNTEXTNOTICE = models.GCNTextNotice
        JSON = models.JSONBlob
        VOEVENT = models.VOEvent

else:
    Deserializer = build_deserializer()
