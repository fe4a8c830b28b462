"""`kubectl influxdb`: the kubectl plugin for the operator's resources.

It runs on the user's machine, not in the operator: it reads the resources
through the user's kubeconfig and RBAC, writes only the agreed annotations,
and never reads a Secret. import-linter keeps the operator from importing it
and it from importing the operator's moving parts (only `api` and pure
helpers of `reconcile`).
"""
