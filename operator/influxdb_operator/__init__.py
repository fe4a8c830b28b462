"""Kubernetes operator for InfluxDB OSS v2 replication streams."""
