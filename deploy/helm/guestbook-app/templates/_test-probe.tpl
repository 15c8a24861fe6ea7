{{- define "gb.testProbe" -}}
{{- if .Values.tests.enabled -}}
{{- $url := printf "http://%s.%s.svc:%v" (include "gb.fullname" .) .Release.Namespace .Values.service.port -}}
# `helm test`: the app image probes the Service with guestbookd's own
# probe mode (exit 0 on a 2xx answer): readiness (storage reachable) and
# one real read through the whole chain.
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "gb.fullname" . }}-test
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "gb.testLabels" . | nindent 4 }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  enableServiceLinks: false
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    {{- range $i, $path := .Values.tests.paths }}
    - name: probe-{{ $i }}
      image: {{ include "gb.image" $ | quote }}
      imagePullPolicy: {{ $.Values.image.pullPolicy }}
      args: ["--probe-url", {{ printf "%s%s" $url $path | quote }}]
      securityContext:
        {{- toYaml $.Values.securityContext | nindent 8 }}
      resources:
        requests:
          cpu: 10m
          memory: 16Mi
        limits:
          cpu: 100m
          memory: 64Mi
    {{- end }}
{{- end }}
{{- end }}
