"""kopf handlers: wiring only. Importing this registers them."""

from . import indexes, instances, kopf_fixes, lifecycle, replication_sets, resources, validation

__all__ = ["indexes", "instances", "kopf_fixes", "lifecycle", "replication_sets", "resources", "validation"]
