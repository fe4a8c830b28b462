{{/* The chart's name, or nameOverride. */}}
{{- define "influxdb-replication-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The name of every namespaced object: fullnameOverride, else release-chart (once). */}}
{{- define "influxdb-replication-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "influxdb-replication-operator.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels that select the operator's pod; never change them after release. */}}
{{- define "influxdb-replication-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "influxdb-replication-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels on every object of the release. */}}
{{- define "influxdb-replication-operator.labels" -}}
{{ include "influxdb-replication-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The metrics Service; a ServiceMonitor's targets get it as their `job` label. */}}
{{- define "influxdb-replication-operator.metricsServiceName" -}}
{{- printf "%s-metrics" (include "influxdb-replication-operator.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The ServiceAccount the operator runs as. */}}
{{- define "influxdb-replication-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "influxdb-replication-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The image reference: the tag (default: appVersion), pinned by the digest if given (the digest is what is pulled; the tag tells a reader which release it is). */}}
{{- define "influxdb-replication-operator.image" -}}
{{- $tagged := printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $tagged .Values.image.digest -}}
{{- else -}}
{{- $tagged -}}
{{- end -}}
{{- end -}}

{{/* The rules the operator needs in every namespace it watches. */}}
{{- define "influxdb-replication-operator.namespacedRules" -}}
# The kinds: watched, finalizers and kopf's annotations patched.
- apiGroups: ["influxdb.replication.dev"]
  resources: ["influxdbinstances", "remoteconnections", "replications", "replicationsets"]
  verbs: ["get", "list", "watch", "patch", "update"]
# A ReplicationSet's children: Replications created and deleted by the set.
- apiGroups: ["influxdb.replication.dev"]
  resources: ["replications"]
  verbs: ["create", "delete"]
# Their status: conditions and the figures mirrored from InfluxDB.
- apiGroups: ["influxdb.replication.dev"]
  resources: ["influxdbinstances/status", "remoteconnections/status", "replications/status", "replicationsets/status"]
  verbs: ["get", "patch", "update"]
# Token and CA Secrets: read, and watched so rotations apply at once; minted
# remote tokens are written to Secrets the operator owns, and deleted on revocation.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "update", "delete"]
# Events about the resources.
- apiGroups: ["", "events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}
