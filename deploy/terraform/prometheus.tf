# kube-prometheus-stack: Prometheus, Alertmanager, the operator, kube-state-
# metrics, node-exporter and Grafana (configured in grafana.tf).

locals {
  # deploy/alertmanager/alertmanager.yml is used as it is. Its PagerDuty
  # receivers read the integration key from `routing_key_file`; the path
  # /etc/alertmanager/secrets/<secret>/<key> tells which Secret the operator
  # has to mount (alertmanagerSpec.secrets) and under which key the
  # integration key goes.
  alertmanager_config = yamldecode(file(local.alertmanager_yml))

  pagerduty_key_files = distinct(flatten([
    for receiver in try(local.alertmanager_config.receivers, []) : [
      for pd in try(receiver.pagerduty_configs, []) : try(pd.routing_key_file, [])
    ]
  ]))

  pagerduty_secret_path = regex(
    "^/etc/alertmanager/secrets/(?P<name>[a-z0-9][-a-z0-9.]*)/(?P<key>[-._a-zA-Z0-9]+)$",
    try(local.pagerduty_key_files[0], "/etc/alertmanager/secrets/alertmanager-pagerduty/routing-key")
  )

  # One PrometheusRule per plain rule file in deploy/alert_rules/ (the same
  # files promtool checks). Files without `groups` (promtool unit tests) are
  # skipped.
  alert_rule_files = {
    for f in fileset(local.alert_rules_dir, "*.{yml,yaml}") :
    "guestbook-${lower(replace(replace(f, "/\\.ya?ml$/", ""), "_", "-"))}" => yamldecode(file("${local.alert_rules_dir}/${f}"))
    if can(yamldecode(file("${local.alert_rules_dir}/${f}")).groups)
  }

  kube_prometheus_stack_values = {
    # Kind runs the control plane in static pods whose metrics listen on the
    # node's loopback only: scraping them fails and their TargetDown /
    # *Down alerts would fire on a fresh cluster. Turn the scrapes and their
    # rules off; kube-proxy likewise.
    kubeControllerManager = { enabled = false }
    kubeScheduler         = { enabled = false }
    kubeEtcd              = { enabled = false }
    kubeProxy             = { enabled = false }
    defaultRules = {
      rules = {
        etcd                   = false
        kubeControllerManager  = false
        kubeSchedulerAlerting  = false
        kubeSchedulerRecording = false
        kubeProxy              = false
        windows                = false
      }
    }

    additionalPrometheusRulesMap = local.alert_rule_files

    prometheus = {
      ingress = {
        enabled          = true
        ingressClassName = var.ingress_class_name
        hosts            = [local.hosts.prometheus]
        paths            = ["/"]
        pathType         = "Prefix"
      }
      prometheusSpec = {
        # Pick up ServiceMonitors, PodMonitors, Probes, ScrapeConfigs and
        # PrometheusRules from every namespace, not only those carrying this
        # release's label (our charts' ServiceMonitors live in the app
        # namespace and do not know the release name).
        serviceMonitorSelectorNilUsesHelmValues = false
        podMonitorSelectorNilUsesHelmValues     = false
        probeSelectorNilUsesHelmValues          = false
        ruleSelectorNilUsesHelmValues           = false
        scrapeConfigSelectorNilUsesHelmValues   = false
        externalUrl                             = local.urls.prometheus
        retention                               = "7d"
        # Exemplars (a trace id per latency bucket, from the OpenMetrics
        # scrape) link the latency panels to Jaeger.
        enableFeatures = ["exemplar-storage"]
        exemplars      = { maxSize = 100000 }
        resources = {
          requests = { cpu = "100m", memory = "512Mi" }
          limits   = { memory = "2Gi" }
        }
      }
    }

    alertmanager = {
      ingress = {
        enabled          = true
        ingressClassName = var.ingress_class_name
        hosts            = [local.hosts.alertmanager]
        paths            = ["/"]
        pathType         = "Prefix"
      }
      alertmanagerSpec = {
        externalUrl = local.urls.alertmanager
        # The configuration is our file byte for byte (the Secret below),
        # not the chart's `config` value: Helm would deep-merge the chart's
        # default route and receivers into it.
        useExistingSecret = true
        configSecret      = kubernetes_secret_v1.alertmanager_config.metadata[0].name
        # Mounted at /etc/alertmanager/secrets/<name>/.
        secrets = [kubernetes_secret_v1.pagerduty.metadata[0].name]
      }
    }
  }
}

resource "kubernetes_secret_v1" "alertmanager_config" {
  metadata {
    name      = "alertmanager-guestbook-config"
    namespace = kubernetes_namespace_v1.monitoring.metadata[0].name
    labels    = { "app.kubernetes.io/part-of" = "guestbook-platform" }
  }

  data = {
    "alertmanager.yaml" = file(local.alertmanager_yml)
  }
}

# The PagerDuty integration key, where alertmanager.yml's routing_key_file
# expects it.
resource "kubernetes_secret_v1" "pagerduty" {
  metadata {
    name      = local.pagerduty_secret_path.name
    namespace = kubernetes_namespace_v1.monitoring.metadata[0].name
    labels    = { "app.kubernetes.io/part-of" = "guestbook-platform" }
  }

  data = {
    # A placeholder keeps Alertmanager's config loadable without a key.
    (local.pagerduty_secret_path.key) = var.pagerduty_integration_key != "" ? var.pagerduty_integration_key : "unset-see-deploy-QUICKSTART"
  }

  lifecycle {
    precondition {
      condition     = length(local.pagerduty_key_files) <= 1
      error_message = "deploy/alertmanager/alertmanager.yml names more than one PagerDuty routing_key_file; this configuration mounts one Secret."
    }
  }
}

resource "helm_release" "kube_prometheus_stack" {
  name       = "kube-prometheus-stack"
  repository = "https://prometheus-community.github.io/helm-charts"
  chart      = "kube-prometheus-stack"
  version    = var.chart_versions.kube_prometheus_stack
  namespace  = kubernetes_namespace_v1.monitoring.metadata[0].name
  timeout    = var.helm_timeout
  wait       = true

  values = [
    yamlencode(local.kube_prometheus_stack_values),
    yamlencode({ grafana = local.grafana_values }),
  ]

  depends_on = [
    kubernetes_secret_v1.alertmanager_config,
    kubernetes_secret_v1.grafana_admin,
    kubernetes_config_map_v1.dashboards,
  ]
}
