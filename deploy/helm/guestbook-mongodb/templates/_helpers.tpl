{{- define "gbm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gbm.fullname" -}}
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

{{- define "gbm.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gbm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gbm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "gbm.labels" -}}
helm.sh/chart: {{ include "gbm.chart" . }}
{{ include "gbm.selectorLabels" . }}
app.kubernetes.io/version: {{ include "gbm.imageTag" . | trunc 63 | quote }}
app.kubernetes.io/component: database
app.kubernetes.io/part-of: guestbook
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "gbm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gbm.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "gbm.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "gbm.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "gbm.imageTag" .) }}
{{- end }}
{{- end }}

{{- define "gbm.secretName" -}}
{{- default (include "gbm.fullname" .) .Values.auth.existingSecret }}
{{- end }}

{{/* The probe command: a ping through mongosh, no login needed. */}}
{{- define "gbm.pingCommand" -}}
- mongosh
- --quiet
- --norc
- --eval
- "db.adminCommand('ping').ok"
{{- end }}
