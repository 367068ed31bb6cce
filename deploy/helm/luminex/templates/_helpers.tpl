{{/* Chart name, shortened to Kubernetes' 63-character limit. */}}
{{- define "luminex.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Prefix of every resource name: release-chart unless overridden. */}}
{{- define "luminex.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "luminex.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "luminex.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select every pod of the release. */}}
{{- define "luminex.selectorLabels" -}}
app.kubernetes.io/name: {{ include "luminex.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Name of the Secret holding RPC credentials and admin key hashes. */}}
{{- define "luminex.secretName" -}}
{{- default (printf "%s-secrets" (include "luminex.fullname" .)) .Values.secrets.existingSecret }}
{{- end }}

{{/* The headless Service through which peers find each other. */}}
{{- define "luminex.peersService" -}}
{{- printf "%s-peers" (include "luminex.fullname" .) }}
{{- end }}

{{/* Bootnodes, comma-separated: the values' list, or the first producer. */}}
{{- define "luminex.bootnodes" -}}
{{- if .Values.bootnodes }}
{{- join "," .Values.bootnodes }}
{{- else if .Values.producers.enabled }}
{{- printf "/dns4/%s-producer-0.%s.%s.svc.cluster.local/tcp/%d" (include "luminex.fullname" .) (include "luminex.peersService" .) .Release.Namespace (int .Values.ports.p2p) }}
{{- else }}
{{- fail "followers without producers need .Values.bootnodes" }}
{{- end }}
{{- end }}

{{/* The node image reference. */}}
{{- define "luminex.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
