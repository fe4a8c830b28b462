"""The managed-resource driver: one for every kind backed by an InfluxDB
object (crossplane's managed reconciler in spirit). `external` holds the
contract a kind meets (observe, create, update, delete) and the driver that
runs it; `resolution` resolves a resource to its instance's client and org;
`resource` applies its management and deletion policies around the driver;
`finish` turns how a reconcile ended into status, Events and metrics."""
