# Grafana is deployed by kube-prometheus-stack (prometheus.tf); this file holds
# its values, its admin Secret and the dashboards.

locals {
  grafana_values = {
    admin = {
      existingSecret = kubernetes_secret_v1.grafana_admin.metadata[0].name
      userKey        = "admin-user"
      passwordKey    = "admin-password"
    }

    ingress = {
      enabled          = true
      ingressClassName = var.ingress_class_name
      hosts            = [local.hosts.grafana]
      path             = "/"
      pathType         = "Prefix"
    }

    "grafana.ini" = {
      server = { root_url = "http://${local.hosts.grafana}" }
      # Alerts are evaluated by Prometheus and routed by Alertmanager; Grafana
      # shows them (Alerting > Alert rules lists the Prometheus rules and the
      # Alertmanager datasource's notifications).
      unified_alerting = { enabled = true }
      analytics        = { check_for_updates = false, reporting_enabled = false }
    }

    sidecar = {
      # The dashboards below are ConfigMaps labelled grafana_dashboard=1,
      # picked up from every namespace; the grafana_folder annotation puts
      # them in a "Guestbook" folder.
      dashboards = {
        enabled          = true
        label            = "grafana_dashboard"
        labelValue       = "1"
        searchNamespace  = "ALL"
        folderAnnotation = "grafana_folder"
        provider         = { foldersFromFilesStructure = true }
      }
      datasources = {
        # kube-prometheus-stack provisions the Prometheus datasource and an
        # Alertmanager one (uid alertmanager), which Grafana's alert list reads.
        alertmanager = {
          enabled                    = true
          uid                        = "alertmanager"
          handleGrafanaManagedAlerts = false
          implementation             = "prometheus"
        }
        # Exemplars on the Prometheus datasource's graphs link to Jaeger.
        exemplarTraceIdDestinations = {
          datasourceUid    = "jaeger"
          traceIdLabelName = "trace_id"
        }
      }
    }

    # Grafana expands environment variables in every string under jsonData
    # when it reads the provisioning files ($VAR, ${VAR}; "$$" stands for
    # one "$"). A link template like ${__value.raw} must therefore reach it
    # as $${__value.raw}: in HCL that is written $$$${__value.raw} (HCL
    # turns "$${" into "${"). deploy/checks/50-terraform.sh applies
    # Grafana's rule to these datasources as Terraform renders them.
    additionalDataSources = [
      {
        name      = "Loki"
        uid       = "loki"
        type      = "loki"
        access    = "proxy"
        url       = local.loki_url
        isDefault = false
        jsonData = {
          maxLines = 1000
          # request_id and trace_id are structured metadata on our log
          # lines: link the first to every line of the same request, the
          # second to its trace in Jaeger.
          derivedFields = [
            {
              name          = "request_id"
              matcherType   = "label"
              matcherRegex  = "request_id"
              url           = "{namespace=\"${var.app_namespace}\"} | request_id=\"$$$${__value.raw}\""
              datasourceUid = "loki"
            },
            {
              name            = "trace_id"
              matcherType     = "label"
              matcherRegex    = "trace_id"
              url             = "$$$${__value.raw}"
              datasourceUid   = "jaeger"
              urlDisplayLabel = "Open the trace in Jaeger"
            },
          ]
        }
      },
      {
        name      = "Jaeger"
        uid       = "jaeger"
        type      = "jaeger"
        access    = "proxy"
        url       = local.jaeger_query_url
        isDefault = false
        jsonData = {
          # From a span to the log lines of its trace (the trace_id
          # structured metadata), a few minutes either side.
          tracesToLogsV2 = {
            datasourceUid      = "loki"
            spanStartTimeShift = "-5m"
            spanEndTimeShift   = "5m"
            filterByTraceID    = false
            filterBySpanID     = false
            customQuery        = true
            query              = "{namespace=\"${var.app_namespace}\"} | trace_id=\"$$$${__trace.traceId}\""
          }
        }
      },
    ]
  }

  dashboard_files = fileset(local.dashboards_dir, "*.json")
}

resource "kubernetes_secret_v1" "grafana_admin" {
  metadata {
    name      = "grafana-admin"
    namespace = kubernetes_namespace_v1.monitoring.metadata[0].name
    labels    = { "app.kubernetes.io/part-of" = "guestbook-platform" }
  }

  data = {
    "admin-user"     = "admin"
    "admin-password" = var.grafana_admin_password
  }
}

# One ConfigMap per dashboard in deploy/dashboards/.
resource "kubernetes_config_map_v1" "dashboards" {
  for_each = local.dashboard_files

  metadata {
    name      = "grafana-dashboard-${lower(replace(trimsuffix(each.value, ".json"), "/[^a-zA-Z0-9-]/", "-"))}"
    namespace = kubernetes_namespace_v1.monitoring.metadata[0].name
    labels = {
      grafana_dashboard           = "1"
      "app.kubernetes.io/part-of" = "guestbook-platform"
    }
    annotations = {
      grafana_folder = "Guestbook"
    }
  }

  data = {
    (each.value) = file("${local.dashboards_dir}/${each.value}")
  }
}
