# MongoDB (official mongo image, standalone) from the local chart, with a
# PersistentVolumeClaim on Kind's local-path StorageClass. Values:
# values/mongodb.yaml (see local.app_chart_values).

resource "helm_release" "mongodb" {
  name      = "guestbook-mongodb"
  chart     = "${local.charts_dir}/guestbook-mongodb"
  namespace = kubernetes_namespace_v1.app.metadata[0].name
  timeout   = var.helm_timeout
  wait      = true

  values = local.app_chart_values["mongodb"].values
}
