{{- define "gb.deployment" -}}
{{- $role := include "gb.role" . -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "gb.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "gb.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
  selector:
    matchLabels:
      {{- include "gb.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "gb.labels" . | nindent 8 }}
        {{- with .Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with .Values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "gb.serviceAccountName" . }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ include "gb.terminationGracePeriod" . }}
      {{- with .Values.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml .Values.podSecurityContext | nindent 8 }}
      containers:
        - name: guestbookd
          image: {{ include "gb.image" . | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
          ports:
            - name: http-server
              containerPort: {{ .Values.containerPort }}
              protocol: TCP
          env:
            - name: PORT
              value: {{ .Values.containerPort | quote }}
            - name: GUESTBOOK_ROLE
              value: {{ $role }}
            {{- if eq $role "backend" }}
            - name: GUESTBOOK_STORAGE
              value: mongo
            {{- if .Values.mongodb.uriSecret.name }}
            - name: GUESTBOOK_MONGO_URI
              valueFrom:
                secretKeyRef:
                  name: {{ tpl .Values.mongodb.uriSecret.name . }}
                  key: {{ .Values.mongodb.uriSecret.key }}
            {{- else }}
            - name: GUESTBOOK_DB_ADDR
              value: {{ required "mongodb.addr or mongodb.uriSecret.name is required" .Values.mongodb.addr | quote }}
            {{- end }}
            {{- else }}
            {{- if .Values.backend.url }}
            - name: GUESTBOOK_BACKEND_URL
              value: {{ .Values.backend.url | quote }}
            {{- else }}
            - name: GUESTBOOK_API_ADDR
              value: {{ required "backend.addr or backend.url is required" .Values.backend.addr | quote }}
            {{- end }}
            {{- end }}
            - name: GUESTBOOK_TRUST_PROXY
              value: {{ .Values.config.trustProxy | quote }}
            - name: GUESTBOOK_LOG_LEVEL
              value: {{ .Values.config.logLevel | quote }}
            - name: GUESTBOOK_LOG_FORMAT
              value: {{ .Values.config.logFormat | quote }}
            {{- if .Values.config.threads }}
            - name: GUESTBOOK_THREADS
              value: {{ .Values.config.threads | quote }}
            {{- end }}
            - name: GUESTBOOK_RATE_LIMIT
              value: {{ .Values.config.rateLimit | quote }}
            - name: GUESTBOOK_DRAIN_SECONDS
              value: {{ .Values.config.drainSeconds | quote }}
            - name: GUESTBOOK_SHUTDOWN_TIMEOUT
              value: {{ .Values.config.shutdownTimeoutSeconds | quote }}
            - name: GUESTBOOK_SQLITE_PATH
              value: /var/lib/guestbook/guestbook.db
            {{- if .Values.adminToken.existingSecret }}
            - name: GUESTBOOK_ADMIN_TOKEN_FILE
              value: /etc/guestbook/admin-token/{{ .Values.adminToken.key }}
            {{- end }}
            {{- with .Values.tracing }}
            {{- if .otlpEndpoint }}
            # Traces over OTLP/HTTP (README: Traces); the pod names itself
            # in the resource so a trace leads to the pod's logs.
            - name: OTEL_EXPORTER_OTLP_ENDPOINT
              value: {{ .otlpEndpoint | quote }}
            {{- if .serviceName }}
            - name: OTEL_SERVICE_NAME
              value: {{ .serviceName | quote }}
            {{- end }}
            - name: OTEL_TRACES_SAMPLER
              value: {{ .sampler | quote }}
            - name: OTEL_TRACES_SAMPLER_ARG
              value: {{ .samplerArg | quote }}
            - name: GB_POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: GB_POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
            - name: OTEL_RESOURCE_ATTRIBUTES
              value: "k8s.pod.name=$(GB_POD_NAME),k8s.namespace.name=$(GB_POD_NAMESPACE){{ with .resourceAttributes }},{{ . }}{{ end }}"
            {{- end }}
            {{- end }}
            {{- with .Values.config.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          startupProbe:
            httpGet:
              path: /health
              port: http-server
            {{- toYaml .Values.probes.startup | nindent 12 }}
          livenessProbe:
            httpGet:
              path: /health
              port: http-server
            {{- toYaml .Values.probes.liveness | nindent 12 }}
          readinessProbe:
            httpGet:
              path: /ready
              port: http-server
            {{- toYaml .Values.probes.readiness | nindent 12 }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          volumeMounts:
            - name: data
              mountPath: /var/lib/guestbook
            - name: tmp
              mountPath: /tmp
            {{- if .Values.adminToken.existingSecret }}
            - name: admin-token
              mountPath: /etc/guestbook/admin-token
              readOnly: true
            {{- end }}
      volumes:
        - name: data
          emptyDir:
            sizeLimit: {{ .Values.dataVolumeSizeLimit }}
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        {{- if .Values.adminToken.existingSecret }}
        - name: admin-token
          secret:
            secretName: {{ .Values.adminToken.existingSecret }}
            defaultMode: 0440
            items:
              - key: {{ .Values.adminToken.key }}
                path: {{ .Values.adminToken.key }}
        {{- end }}
      {{- if .Values.topologySpread.enabled }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: {{ .Values.topologySpread.topologyKey }}
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "gb.selectorLabels" . | nindent 14 }}
      {{- end }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
