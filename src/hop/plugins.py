"""Plugins: installed packages that add message models.

A plugin is a module with a function marked ``@hop.plugins.register`` that implements the
``get_models`` hook::

    from hop import plugins

    @plugins.register
    def get_models():
        return {"donut": Donut}

and a package that declares it as an entry point in the group ``hop_plugin``::

    [project.entry-points.hop_plugin]
    donut = "hop_donut"

hop discovers plugins when ``hop.plugins`` is first imported. A plugin that fails to load,
whose hook fails, or that claims a format name already taken, is logged as a warning and
skipped; hop keeps working with the rest.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from typing import Any

import pluggy

from . import models

__all__ = [
    "ENTRY_POINT_GROUP",
    "PROJECT_NAME",
    "discover",
    "get_plugin_manager",
    "hookspec",
    "plugin_models",
    "register",
]

logger = logging.getLogger("hop.plugins")

#: The pluggy project name.
PROJECT_NAME = "hop"
#: The entry-point group installed packages declare their plugin in.
ENTRY_POINT_GROUP = "hop_plugin"

#: Marks a hook specification (used by hop itself).
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Marks a plugin's hook implementation: ``@hop.plugins.register``.
register = pluggy.HookimplMarker(PROJECT_NAME)


class _Spec:
    """The hooks a hop plugin may implement."""

    @hookspec
    def get_models(self) -> dict[str, type[models.MessageModel]]:  # type: ignore[empty-body]
        """Return the plugin's models.

        Returns:
            A dict of format name to :class:`hop.models.MessageModel` subclass.
        """


# Labels registered by plugins during the last discovery, so that discovery can be redone.
_plugin_labels: dict[str, str] = {}
_manager: pluggy.PluginManager | None = None


def _new_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(_Spec)
    return manager


def plugin_models() -> dict[str, str]:
    """The formats added by plugins in the last discovery.

    Returns:
        A dict of format label to the name of the plugin (entry point) that provides it.
    """
    return dict(_plugin_labels)


def _load_entry_points(manager: pluggy.PluginManager) -> None:
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if manager.has_plugin(entry_point.name):
            logger.warning(
                "ignoring hop plugin %r (%s): another plugin has that name",
                entry_point.name,
                entry_point.value,
            )
            continue
        try:
            plugin = entry_point.load()
            manager.register(plugin, name=entry_point.name)
        except Exception as exc:
            logger.warning(
                "ignoring hop plugin %r (%s): it failed to load: %s: %s",
                entry_point.name,
                entry_point.value,
                type(exc).__name__,
                exc,
            )


def _collect(manager: pluggy.PluginManager) -> None:
    for impl in manager.hook.get_models.get_hookimpls():
        name = impl.plugin_name
        try:
            provided: Any = impl.function()
            if not isinstance(provided, dict):
                raise TypeError(f"get_models() returned {type(provided).__name__}, not a dict")
        except Exception as exc:
            logger.warning("ignoring hop plugin %r: get_models() failed: %s", name, exc)
            continue
        for label, cls in provided.items():
            key = label.lower() if isinstance(label, str) else ""
            if key in _plugin_labels:
                logger.warning(
                    "hop plugin %r and plugin %r both provide format %r; keeping %r's",
                    name,
                    _plugin_labels[key],
                    key,
                    _plugin_labels[key],
                )
                continue
            try:
                if not key:
                    raise ValueError(f"bad format name {label!r}")
                models.register_model(key, cls)
            except (TypeError, ValueError) as exc:
                logger.warning("ignoring format %r of hop plugin %r: %s", label, name, exc)
                continue
            _plugin_labels[key] = name


def discover() -> None:
    """Find the installed plugins (again) and register their models.

    Models registered by an earlier discovery are forgotten first, so this also removes
    the models of plugins that are no longer installed. It is called when ``hop.plugins``
    is first imported.
    """
    global _manager
    for label in list(_plugin_labels):
        models.unregister_model(label)
    _plugin_labels.clear()
    importlib.invalidate_caches()
    _manager = _new_manager()
    _load_entry_points(_manager)
    _collect(_manager)


def get_plugin_manager() -> pluggy.PluginManager:
    """The plugin manager of the last discovery.

    Returns:
        The ``pluggy.PluginManager`` holding every loaded plugin.
    """
    if _manager is None:
        discover()
    assert _manager is not None
    return _manager


discover()
