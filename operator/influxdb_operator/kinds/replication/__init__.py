"""Replication: its adapter, its sync, and what only a stream has: its
data plane observed, the refresh's skip of an idle one, heartbeats, and
validation on demand."""
