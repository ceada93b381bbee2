"""jacbench: which Jacobian mode to use, on which device, at what cost, and why."""

from jacbench.cost import Cost, cost
from jacbench.mlp import MLP
from jacbench.modes import jacobian, modes

__version__ = "0.1.0"

__all__ = ["MLP", "Cost", "__version__", "cost", "jacobian", "modes"]
