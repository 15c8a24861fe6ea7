{{- define "gb.ingress" -}}
{{- if .Values.ingress.enabled -}}
{{- include "gb.ingressPublicOnly" . }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "gb.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "gb.labels" . | nindent 4 }}
  {{- with .Values.ingress.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with .Values.ingress.className }}
  ingressClassName: {{ . }}
  {{- end }}
  {{- with .Values.ingress.tls }}
  tls:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  rules:
    {{- range .Values.ingress.hosts }}
    - host: {{ .host | quote }}
      http:
        paths:
          {{- range .paths }}
          - path: {{ .path }}
            pathType: {{ .pathType }}
            backend:
              service:
                name: {{ include "gb.fullname" $ }}
                port:
                  name: http-server
          {{- end }}
    {{- end }}
{{- end }}
{{- end }}
