# The backend (guestbookd role backend) from the local chart. Values:
# values/backend.yaml plus the Terraform-side overrides in local.app_chart_values.

resource "helm_release" "backend" {
  name      = "guestbook-backend"
  chart     = "${local.charts_dir}/guestbook-backend"
  namespace = kubernetes_namespace_v1.app.metadata[0].name
  timeout   = var.helm_timeout
  wait      = true

  values = local.app_chart_values["backend"].values

  # The ServiceMonitor needs the CRDs; the API needs MongoDB.
  depends_on = [helm_release.kube_prometheus_stack, helm_release.mongodb]
}
