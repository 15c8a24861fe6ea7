{{- define "gb.notes" -}}
guestbookd ({{ include "gb.role" . }}) is installed as {{ include "gb.fullname" . }} in {{ .Release.Namespace }}.

  Service:  {{ include "gb.fullname" . }}:{{ .Values.service.port }} (port name http-server)
  Probes:   /health (liveness, startup), /ready (readiness); metrics: /metrics
{{- if .Values.ingress.enabled }}
  Ingress:  {{ range .Values.ingress.hosts }}http://{{ .host }}/ {{ end }}
{{- end }}

Check it:
  kubectl -n {{ .Release.Namespace }} rollout status deployment/{{ include "gb.fullname" . }}
  helm -n {{ .Release.Namespace }} test {{ .Release.Name }}
{{- end }}
