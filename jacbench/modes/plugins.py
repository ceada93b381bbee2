"""Users' own modes, loaded from plugin files (``--plugin path.py``) and installed packages.

A plugin is Python that calls ``jacbench.register_mode`` when it is imported: a file passed to
``sweep`` and ``advise`` with ``--plugin`` (repeatable), or a module an installed package names in
the entry-point group ``jacbench.modes`` (as pytest finds ``pytest11`` plugins)::

    [project.entry-points."jacbench.modes"]
    blocked = "my_package.jacobians"

Entry points are loaded once, by ``jacbench.modes()`` and by every command that runs modes; the
files a run loaded are loaded again in each worker process (``jacbench.run.worker``), so a mode
runs the same code there. A plugin that fails to import is one ``PluginError`` naming the file
(or entry point) and the error.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from importlib import metadata
from pathlib import Path

__all__ = ["ENTRY_POINT_GROUP", "PluginError", "load_entry_points", "load_plugin_file",
           "load_plugins", "loaded_files"]

ENTRY_POINT_GROUP = "jacbench.modes"

_files: dict[str, str] = {}  # resolved path -> module name, in load order
_entry_points_loaded = False


class PluginError(Exception):
    """A plugin that could not be loaded: its file or entry point and the error, in one line."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def load_plugin_file(path: str | Path) -> None:
    """Import the plugin file at ``path`` (once), registering its modes."""
    resolved = str(Path(path).resolve())
    if resolved in _files:
        return
    if not Path(resolved).is_file():
        raise PluginError(f"--plugin {path}: no such file")
    digest = hashlib.sha1(resolved.encode()).hexdigest()[:8]
    name = f"jacbench_plugin_{Path(resolved).stem}_{digest}"
    try:
        spec = importlib.util.spec_from_file_location(name, resolved)
        if spec is None or spec.loader is None:
            raise ImportError("not a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except Exception as exc:  # any error of the user's code: said in one line, at the edge
        sys.modules.pop(name, None)
        raise PluginError(f"--plugin {path}: {_first_line(exc)}") from exc
    _files[resolved] = name


def load_entry_points() -> None:
    """Import every module named in the ``jacbench.modes`` entry-point group (once)."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            entry.load()
        except Exception as exc:
            raise PluginError(f"plugin {entry.name} = {entry.value} (entry point of "
                              f"{ENTRY_POINT_GROUP}): {_first_line(exc)}") from exc


def load_plugins(files: tuple[str, ...] | list[str] = ()) -> None:
    """The installed entry points, then each plugin file, in order."""
    load_entry_points()
    for path in files:
        load_plugin_file(path)


def loaded_files() -> tuple[str, ...]:
    """The plugin files this process loaded (resolved), for its worker processes to load."""
    return tuple(_files)
