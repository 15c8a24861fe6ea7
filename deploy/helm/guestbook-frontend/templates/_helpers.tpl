{{/*
The role this chart runs guestbookd in: the one definition the library
chart guestbook-app (charts/guestbook-app) leaves to the chart. Every
manifest comes from the library.
*/}}
{{- define "gb.role" -}}
frontend
{{- end }}
