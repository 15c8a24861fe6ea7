# The frontend (guestbookd role frontend) at http://localhost. Values:
# values/frontend.yaml plus the Terraform-side overrides in local.app_chart_values.

resource "helm_release" "frontend" {
  name      = "guestbook-frontend"
  chart     = "${local.charts_dir}/guestbook-frontend"
  namespace = kubernetes_namespace_v1.app.metadata[0].name
  timeout   = var.helm_timeout
  wait      = true

  values = local.app_chart_values["frontend"].values

  # Its Ingress needs the controller (and its admission webhook) running.
  depends_on = [helm_release.ingress_nginx, helm_release.backend]
}
