"""kopf handlers: wiring, status and events. Importing this registers them."""

from . import indexes, instances, lifecycle, remotes, replications

__all__ = ["indexes", "instances", "lifecycle", "remotes", "replications"]
