{{- define "gb.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "gb.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "gb.labels" . | nindent 4 }}
  {{- with .Values.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ .Values.service.type }}
  selector:
    {{- include "gb.selectorLabels" . | nindent 4 }}
  ports:
    - name: http-server
      port: {{ .Values.service.port }}
      targetPort: http-server
      protocol: TCP
{{- end }}
