"""kopf handlers: wiring only. Importing this registers them."""

from . import indexes, instances, lifecycle, resources, validation

__all__ = ["indexes", "instances", "lifecycle", "resources", "validation"]
