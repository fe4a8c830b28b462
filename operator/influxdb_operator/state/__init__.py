"""The operator process's state: what it sees of Kubernetes (`world`), its
InfluxDB clients (`clients`), a refresh's listing of an org (`listing`), and
the memory that ties them together (`runtime`). Knows no kind and no kopf."""
