"""The plugin's few Kubernetes calls, through the user's kubeconfig; every
failure becomes a PluginError with the server's own words, never a trace."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from ..api import crds, v1alpha1

Obj = dict[str, Any]


class PluginError(Exception):
    """A message for the user (exit status 2)."""


def kind_of(word: str) -> crds.Kind:
    """A kind from what kubectl would accept: kind, plural or short name, any case."""
    word = word.lower()
    for kind in crds.KINDS:
        if word in (kind.singular, kind.plural, *kind.short_names):
            return kind
    known = ", ".join(k.singular for k in crds.KINDS)
    raise PluginError(f"unknown kind {word!r} (one of {known}, or their short names)")


@dataclass(frozen=True)
class Kube:
    api: client.CustomObjectsApi
    namespace: str
    # Seconds each request may take (--request-timeout); None: no limit.
    timeout: float | None = None
    coordination: client.CoordinationV1Api | None = None

    def _limit(self) -> dict[str, Any]:
        return {"_request_timeout": self.timeout} if self.timeout else {}

    def leases(self) -> list[Obj]:
        """The operators' election Leases, in every namespace; none where the
        user may not list Leases (naming the leader is a bonus, not a need)."""
        if self.coordination is None:
            return []
        try:
            found: Any = self.coordination.list_lease_for_all_namespaces(
                label_selector=f"{v1alpha1.LEASE_LABEL}=true", _preload_content=False, **self._limit()
            )
        except (ApiException, urllib3.exceptions.HTTPError):
            return []
        return list(json.loads(found.data)["items"])

    def items(self, kind: crds.Kind, *, all_namespaces: bool = False) -> list[Obj]:
        where = "all namespaces" if all_namespaces else f"namespace {self.namespace}"
        found: Any
        with _explained(f"list {kind.plural} in {where}"):
            if all_namespaces:
                found = self.api.list_cluster_custom_object(
                    v1alpha1.GROUP, v1alpha1.VERSION, kind.plural, **self._limit()
                )
            else:
                found = self.api.list_namespaced_custom_object(
                    v1alpha1.GROUP, v1alpha1.VERSION, self.namespace, kind.plural, **self._limit()
                )
        return list(found["items"])

    def get(self, kind: crds.Kind, name: str) -> Obj:
        found: Any
        with _explained(f"get {kind.singular} {name!r} in namespace {self.namespace}"):
            found = self.api.get_namespaced_custom_object(
                v1alpha1.GROUP, v1alpha1.VERSION, self.namespace, kind.plural, name, **self._limit()
            )
        return dict(found)

    def annotate(self, kind: crds.Kind, name: str, annotations: dict[str, str | None]) -> None:
        """A merge patch of the annotations alone (None removes one)."""
        with _explained(f"patch {kind.singular} {name!r} in namespace {self.namespace}"):
            self.api.patch_namespaced_custom_object(
                v1alpha1.GROUP,
                v1alpha1.VERSION,
                self.namespace,
                kind.plural,
                name,
                {"metadata": {"annotations": annotations}},
                **self._limit(),
            )


def connect(
    kubeconfig: str | None, context: str | None, namespace: str | None, *, timeout: float | None = None
) -> Kube:
    """A client as kubectl would make it: $KUBECONFIG (or ~/.kube/config), the
    current (or given) context, and that context's namespace unless -n says."""
    try:
        configuration = client.Configuration()
        config.load_kube_config(kubeconfig, context, client_configuration=configuration, persist_config=False)
        if timeout:
            # As kubectl: the limit is per request, not spent again on retries.
            configuration.retries = False
        api_client = client.ApiClient(configuration)
        contexts, current = config.list_kube_config_contexts(config_file=kubeconfig)
    except (ConfigException, OSError) as error:
        raise PluginError(f"cannot load the kubeconfig: {error}") from None
    chosen = next((c for c in contexts if c["name"] == context), current) if context else current
    namespace = namespace or (chosen or {}).get("context", {}).get("namespace") or "default"
    return Kube(client.CustomObjectsApi(api_client), namespace, timeout, client.CoordinationV1Api(api_client))


@contextmanager
def _explained(doing: str) -> Iterator[None]:
    """Turns the client's exceptions into a PluginError saying what was tried."""
    try:
        yield
    except ApiException as error:
        raise PluginError(f"cannot {doing}: {_reason(error)}") from None
    except urllib3.exceptions.TimeoutError:
        raise PluginError(f"cannot {doing}: the API server did not answer within --request-timeout") from None
    except urllib3.exceptions.HTTPError as error:
        raise PluginError(f"cannot {doing}: the API server cannot be reached ({type(error).__name__})") from None


def _reason(error: ApiException) -> str:
    try:
        message = str(json.loads(error.body or "")["message"])
    except (ValueError, KeyError, TypeError):
        message = str(error.reason)
    if error.status == 403:
        return f"forbidden: {message} (the RBAC the plugin needs is in docs/plugin.md)"
    if error.status == 401:
        return f"unauthorized: the kubeconfig's credentials were refused ({message})"
    return message
