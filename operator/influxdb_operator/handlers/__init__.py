"""kopf handlers: wiring only. Importing this registers them."""

from . import indexes, instances, lifecycle, resources

__all__ = ["indexes", "instances", "lifecycle", "resources"]
