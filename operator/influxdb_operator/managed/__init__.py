"""The managed-resource reconciler: one driver for every kind, the refresh,
the operator's state. Knows InfluxDB and the resources, not kopf: handlers
wire it to kopf, and tests drive it with fakes."""
