"""Helpers the integration tests share: kubectl, the operator process, waiting."""
