{{- define "gb.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of every object. The default values set fullnameOverride to the
original platform's Service name (python-guestbook-<role>).
*/}}
{{- define "gb.fullname" -}}
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

{{- define "gb.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gb.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "gb.labels" -}}
helm.sh/chart: {{ include "gb.chart" . }}
{{ include "gb.selectorLabels" . }}
app.kubernetes.io/version: {{ include "gb.imageTag" . | trunc 63 | quote }}
app.kubernetes.io/component: {{ include "gb.role" . }}
app.kubernetes.io/part-of: guestbook
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels of the helm test pod: not selected by this chart's policies. */}}
{{- define "gb.testLabels" -}}
helm.sh/chart: {{ include "gb.chart" . }}
app.kubernetes.io/name: {{ include "gb.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ include "gb.imageTag" . | trunc 63 | quote }}
app.kubernetes.io/component: helm-test
app.kubernetes.io/part-of: guestbook
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "gb.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gb.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "gb.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "gb.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "gb.imageTag" .) }}
{{- end }}
{{- end }}

{{/*
Seconds Kubernetes waits after SIGTERM: guestbookd keeps serving for the
drain period (while endpoints are updated), then gives in-flight requests
up to the shutdown timeout; a few seconds on top for storage to close.
*/}}
{{- define "gb.terminationGracePeriod" -}}
{{- add .Values.config.drainSeconds .Values.config.shutdownTimeoutSeconds 5 }}
{{- end }}

{{/*
Fails the render when an Ingress path would route guestbookd's internal
endpoints to the public: /metrics (Prometheus scrapes it inside the
cluster), /ready (its detail names storage errors) and /health. Kubernetes
Prefix paths match whole segments ("/api" matches "/api/v1", not "/apix");
ImplementationSpecific is taken as a plain string prefix, as ingress-nginx
does.
*/}}
{{- define "gb.ingressPublicOnly" -}}
{{- range $host := .Values.ingress.hosts }}
{{- range $host.paths }}
{{- $path := .path }}
{{- $type := .pathType }}
{{- $base := printf "%s/" (trimSuffix "/" $path) }}
{{- range $internal := list "/metrics" "/ready" "/health" }}
{{- $exact := eq $path $internal }}
{{- $prefix := and (eq $type "Prefix") (hasPrefix $base (printf "%s/" $internal)) }}
{{- $loose := and (eq $type "ImplementationSpecific") (hasPrefix $path $internal) }}
{{- if or $exact $prefix $loose }}
{{- fail (printf "ingress.hosts: path %s (%s) on host %s routes %s to the public; list the public paths instead (values.yaml shows them)" $path $type $host.host $internal) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
