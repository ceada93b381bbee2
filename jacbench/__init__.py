"""jacbench: which Jacobian mode to use, on which device, at what cost, and why.

The public API is imported on first use, so that ``import jacbench`` (and reading, analysing or
rendering a results table) does not load torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# The subpackage jacbench.modes (torch-free itself) is imported before ``modes`` is defined:
# importing it binds the name ``modes`` here, and the function below must win
# (``jacbench.modes()`` is public API).
import jacbench.modes as _modes_package  # noqa: F401
from jacbench.catalog import mode_names as _mode_names

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_PUBLIC = {
    "MLP": "jacbench.model.mlp",
    "jacobian": "jacbench.modes.registry",
    "register_mode": "jacbench.modes.registry",
    "cost": "jacbench.theory.cost",
    "Cost": "jacbench.theory.cost",
}

__all__ = ["MLP", "Cost", "__version__", "cost", "jacobian", "modes", "register_mode"]

if TYPE_CHECKING:
    from jacbench.model.mlp import MLP
    from jacbench.modes.registry import jacobian, register_mode
    from jacbench.theory.cost import Cost, cost


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jacbench' has no attribute {name!r}")


def modes() -> tuple[str, ...]:
    """The names of the Jacobian modes available in this install, hand-written first, users'
    own last (those of installed plugins, group ``jacbench.modes``, are loaded on first call)."""
    from jacbench.modes.plugins import load_entry_points

    load_entry_points()
    return _mode_names()
