"""An async client for the parts of the InfluxDB v2 API the operator uses.

It knows nothing of Kubernetes: it takes a URL, a token and TLS settings, and
speaks pydantic models.
"""
