"""toolkit: simulate, reconcile and tune PostCo returns refunded as Rise.ai store credit.

The public API is this facade; everything else is internal and may move.
"""

from toolkit.errors import ConfigError, InputError, ToolkitError
from toolkit.settings import ReconcileSettings, load_settings

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "InputError",
    "ReconcileSettings",
    "ToolkitError",
    "load_settings",
]
