"""Pure reconcile logic: desired + observed in, decisions out. No I/O here."""
