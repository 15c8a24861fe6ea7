# Providers.
#
# The helm and kubernetes providers are configured from the Kind cluster that
# this same configuration creates (local.kube, see cluster_management.tf).
# Terraform cannot configure a provider from values that are unknown until
# apply, so a fresh cluster is brought up in two stages (we chose the two-stage
# apply over splitting the configuration in two roots: one state, one
# `destroy`):
#
#   terraform apply -target=kind_cluster.this -var-file=secrets.tfvars
#   terraform apply -var-file=secrets.tfvars
#
# (`tofu` works the same way.) Nothing here uses kubernetes_manifest, which
# would need the API server (and the CRDs) during `plan`; PrometheusRules are
# created by kube-prometheus-stack and dashboards are plain ConfigMaps, so
# after the first stage every later plan/apply is an ordinary one.
#
# After the cluster was deleted outside Terraform the kind provider cannot
# refresh it and every plan fails, -target included: first
# `terraform state rm kind_cluster.this`, then the same two stages
# (deploy/QUICKSTART.md, "The cluster was deleted by hand").

provider "kind" {}

provider "helm" {
  kubernetes = {
    host                   = local.kube.host
    client_certificate     = local.kube.client_certificate
    client_key             = local.kube.client_key
    cluster_ca_certificate = local.kube.cluster_ca_certificate
  }
}

provider "kubernetes" {
  host                   = local.kube.host
  client_certificate     = local.kube.client_certificate
  client_key             = local.kube.client_key
  cluster_ca_certificate = local.kube.cluster_ca_certificate
}

locals {
  # Paths of the artifacts other parts of deploy/ own; Terraform only reads them.
  alert_rules_dir  = "${path.module}/../alert_rules"
  dashboards_dir   = "${path.module}/../dashboards"
  alertmanager_yml = "${path.module}/../alertmanager/alertmanager.yml"
  charts_dir       = "${path.module}/../helm"

  # Host names served by ingress-nginx on the Kind node's ports 80/443.
  # *.localhost resolves to 127.0.0.1 in browsers and curl without /etc/hosts.
  hosts = {
    app          = "localhost"
    grafana      = "grafana.localhost"
    prometheus   = "prometheus.localhost"
    alertmanager = "alertmanager.localhost"
    jaeger       = "jaeger.localhost"
  }

  # The URLs a browser on this machine uses: the host names above on
  # var.host_ports.http (no port in the URL when it is 80).
  http_port_suffix = var.host_ports.http == 80 ? "" : ":${var.host_ports.http}"
  urls             = { for name, host in local.hosts : name => "http://${host}${local.http_port_suffix}" }

  # Values of the local charts, per release: the chart's values file in
  # values/ (shared with build.sh), then what depends on Terraform
  # variables. deploy/checks/50-terraform.sh renders the charts with exactly
  # these documents (it evaluates this local with `tofu console`).
  app_overrides = {
    image = { repository = var.image_repository, tag = var.image_tag }
    # Spans go to Jaeger (jaeger.tf) over OTLP/HTTP.
    tracing = { otlpEndpoint = local.jaeger_otlp_url }
    networkPolicy = {
      # Who may reach the pods: Prometheus (scrapes) and the ingress controller.
      monitoring        = { namespaceSelector = { matchLabels = { "kubernetes.io/metadata.name" = var.monitoring_namespace } } }
      ingressController = { namespaceSelector = { matchLabels = { "kubernetes.io/metadata.name" = var.ingress_namespace } } }
      # Where the pods may send spans: Jaeger's OTLP/HTTP port.
      tracing = {
        namespaceSelector = { matchLabels = { "kubernetes.io/metadata.name" = var.monitoring_namespace } }
        podSelector       = { matchLabels = local.jaeger_pod_labels }
        port              = local.jaeger_otlp_port
      }
    }
  }

  # The helm provider upgrades a release when its values or chart version
  # change, not when a local chart's templates do: a checksum of each chart's
  # files, as a pod annotation, makes an edited chart roll out on apply.
  # fileset follows the charts/guestbook-app link of the app charts, so the
  # library chart's templates count too.
  app_chart_checksums = {
    for release in ["mongodb", "backend", "frontend"] : release => sha1(join(",", [
      for f in sort(fileset("${local.charts_dir}/guestbook-${release}", "**")) :
      "${f}=${filesha1("${local.charts_dir}/guestbook-${release}/${f}")}"
    ]))
  }

  app_chart_values = {
    mongodb = {
      values = [
        file("${path.module}/values/mongodb.yaml"),
        yamlencode({ podAnnotations = { "guestbook.dev/chart-checksum" = local.app_chart_checksums["mongodb"] } }),
      ]
    }
    backend = {
      values = [
        file("${path.module}/values/backend.yaml"),
        yamlencode(merge(local.app_overrides, {
          podAnnotations = { "guestbook.dev/chart-checksum" = local.app_chart_checksums["backend"] }
        })),
      ]
    }
    frontend = {
      values = [
        file("${path.module}/values/frontend.yaml"),
        yamlencode(merge(local.app_overrides, {
          ingress        = { className = var.ingress_class_name }
          podAnnotations = { "guestbook.dev/chart-checksum" = local.app_chart_checksums["frontend"] }
        })),
      ]
    }
  }
}
