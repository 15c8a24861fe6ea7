{{- define "gb.networkpolicy" -}}
{{- if .Values.networkPolicy.enabled -}}
{{- $role := include "gb.role" . -}}
{{- $np := .Values.networkPolicy -}}
# Default deny: this chart's pods get no traffic in or out except what the
# policies below allow.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "gb.fullname" . }}-default-deny
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "gb.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "gb.selectorLabels" . | nindent 6 }}
  policyTypes:
    - Ingress
    - Egress
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "gb.fullname" . }}-allow-dns
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "gb.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "gb.selectorLabels" . | nindent 6 }}
  policyTypes:
    - Egress
  egress:
    - to:
        - namespaceSelector:
            {{- toYaml $np.dns.namespaceSelector | nindent 12 }}
          podSelector:
            {{- toYaml $np.dns.podSelector | nindent 12 }}
      ports:
        - port: 53
          protocol: UDP
        - port: 53
          protocol: TCP
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "gb.fullname" . }}-allow-ingress
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "gb.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "gb.selectorLabels" . | nindent 6 }}
  policyTypes:
    - Ingress
  ingress:
    {{- if eq $role "backend" }}
    # The frontend calls the backend's API.
    - from:
        - podSelector:
            {{- toYaml $np.frontend.podSelector | nindent 12 }}
      ports:
        - port: http-server
          protocol: TCP
    {{- end }}
    {{- if .Values.ingress.enabled }}
    # The ingress controller forwards outside traffic.
    - from:
        - namespaceSelector:
            {{- toYaml $np.ingressController.namespaceSelector | nindent 12 }}
          podSelector:
            {{- toYaml $np.ingressController.podSelector | nindent 12 }}
      ports:
        - port: http-server
          protocol: TCP
    {{- end }}
    # Prometheus scrapes /metrics on the same port.
    - from:
        - namespaceSelector:
            {{- toYaml $np.monitoring.namespaceSelector | nindent 12 }}
          podSelector:
            {{- toYaml $np.monitoring.podSelector | nindent 12 }}
      ports:
        - port: http-server
          protocol: TCP
    # `helm test` pods of the guestbook charts in this namespace.
    - from:
        - podSelector:
            matchLabels:
              app.kubernetes.io/component: helm-test
              app.kubernetes.io/part-of: guestbook
      ports:
        - port: http-server
          protocol: TCP
    {{- with $np.extraIngress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "gb.fullname" . }}-allow-egress
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "gb.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "gb.selectorLabels" . | nindent 6 }}
  policyTypes:
    - Egress
  egress:
    {{- if eq $role "backend" }}
    # The backend stores messages in MongoDB.
    - to:
        - podSelector:
            {{- toYaml $np.mongodb.podSelector | nindent 12 }}
      ports:
        - port: {{ $np.mongodb.port }}
          protocol: TCP
    {{- else }}
    # The frontend calls the backend's API.
    - to:
        - podSelector:
            {{- toYaml $np.backend.podSelector | nindent 12 }}
      ports:
        - port: {{ $np.backend.port }}
          protocol: TCP
    {{- end }}
    {{- if .Values.tracing.otlpEndpoint }}
    # Spans go to the trace collector's OTLP/HTTP port.
    - to:
        - namespaceSelector:
            {{- toYaml $np.tracing.namespaceSelector | nindent 12 }}
          podSelector:
            {{- toYaml $np.tracing.podSelector | nindent 12 }}
      ports:
        - port: {{ $np.tracing.port }}
          protocol: TCP
    {{- end }}
    {{- with $np.extraEgress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}
{{- end }}
