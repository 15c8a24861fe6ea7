output "app_url" {
  description = "The guestbook (frontend through ingress-nginx)."
  value       = local.urls.app
}

output "grafana_url" {
  description = "Grafana: dashboards (Guestbook folder), Explore > Loki for logs."
  value       = local.urls.grafana
}

output "grafana_alerts_url" {
  description = "Alert rules and their state in Grafana."
  value       = "${local.urls.grafana}/alerting/list"
}

output "prometheus_url" {
  description = "Prometheus."
  value       = local.urls.prometheus
}

output "alertmanager_url" {
  description = "Alertmanager (send a test alert: deploy/QUICKSTART.md)."
  value       = local.urls.alertmanager
}

output "jaeger_url" {
  description = "Jaeger's UI: traces of the frontend and backend."
  value       = "http://${local.hosts.jaeger}"
}

output "loki_url" {
  description = "Loki inside the cluster (Grafana's Loki datasource and Alloy use it)."
  value       = local.loki_url
}

output "kubeconfig_path" {
  description = "kubeconfig written by the kind provider."
  value       = local.kube.kubeconfig_path
}

output "kube_context" {
  description = "Context name after `kind export kubeconfig --name <cluster>`."
  value       = local.kube.context
}

output "grafana_admin_user" {
  description = "Grafana user; the password is var.grafana_admin_password."
  value       = "admin"
}

output "pagerduty_key_set" {
  description = "Whether Alertmanager got a real PagerDuty integration key (false: the placeholder, nobody is paged). CI asserts false before its apply."
  value       = nonsensitive(var.pagerduty_integration_key != "")
}
