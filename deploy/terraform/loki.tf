# Logs: Loki (single binary, filesystem storage) and Grafana Alloy as the
# collector (Promtail reached end of life on 2026-03-02). Both charts moved:
# Loki's is maintained in the grafana-community chart repository, Alloy's
# stays in Grafana's.

locals {
  loki_url = "http://loki.${var.monitoring_namespace}.svc.cluster.local:3100"

  loki_values = {
    # "Monolithic" (formerly SingleBinary): one process, one replica.
    deploymentMode = "Monolithic"
    loki = {
      auth_enabled = false
      commonConfig = { replication_factor = 1 }
      storage      = { type = "filesystem" }
      schemaConfig = {
        configs = [{
          from         = "2024-01-01"
          store        = "tsdb"
          object_store = "filesystem"
          schema       = "v13"
          index        = { prefix = "loki_index_", period = "24h" }
        }]
      }
      limits_config = {
        # request_id travels as structured metadata (needs schema v13).
        allow_structured_metadata = true
        volume_enabled            = true
        retention_period          = "168h"
      }
      compactor = {
        retention_enabled    = true
        delete_request_store = "filesystem"
      }
      pattern_ingester = { enabled = false }
    }
    singleBinary = {
      replicas    = 1
      persistence = { enabled = true, size = "5Gi" }
      resources = {
        requests = { cpu = "100m", memory = "256Mi" }
        limits   = { memory = "1Gi" }
      }
    }
    # Nothing else of the scalable/distributed modes.
    read    = { replicas = 0 }
    write   = { replicas = 0 }
    backend = { replicas = 0 }
    # Grafana and Alloy talk to the loki Service directly.
    gateway = { enabled = false }
    # memcached caches ask for several GiB: too much for a laptop cluster.
    chunksCache  = { enabled = false }
    resultsCache = { enabled = false }
    lokiCanary   = { enabled = false }
    test         = { enabled = false }
    minio        = { enabled = false }
    monitoring   = { serviceMonitor = { enabled = true } }
    sidecar      = { rules = { enabled = false } }
  }

  # Alloy pipeline: tail every container log under /var/log/pods, keep the
  # Kubernetes labels that matter, and for the guestbook's pods parse our JSON
  # log lines (ts, level, logger, msg, method, route, path, status,
  # duration_ms, request_id, trace_id, span_id, ...): `level` becomes a
  # label (few values), request_id, trace_id and span_id structured
  # metadata (one value per request: never a label),
  # and `ts` the entry's timestamp. The other fields stay in the line, for
  # LogQL's `| json` (route, status, logger, ...).
  alloy_config = <<-ALLOY
    discovery.kubernetes "pods" {
      role = "pod"
      selectors {
        role  = "pod"
        field = "spec.nodeName=" + coalesce(sys.env("HOSTNAME"), constants.hostname)
      }
    }

    discovery.relabel "pod_logs" {
      targets = discovery.kubernetes.pods.targets

      rule {
        source_labels = ["__meta_kubernetes_namespace"]
        target_label  = "namespace"
      }
      rule {
        source_labels = ["__meta_kubernetes_pod_name"]
        target_label  = "pod"
      }
      rule {
        source_labels = ["__meta_kubernetes_pod_container_name"]
        target_label  = "container"
      }
      rule {
        source_labels = ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
        target_label  = "app"
      }
      rule {
        source_labels = ["__meta_kubernetes_pod_label_app_kubernetes_io_component"]
        target_label  = "component"
      }
      rule {
        source_labels = ["__meta_kubernetes_pod_uid", "__meta_kubernetes_pod_container_name"]
        separator     = "/"
        replacement   = "/var/log/pods/*$1/*.log"
        target_label  = "__path__"
      }
    }

    local.file_match "pod_logs" {
      path_targets = discovery.relabel.pod_logs.output
    }

    loki.source.file "pod_logs" {
      targets    = local.file_match.pod_logs.targets
      forward_to = [loki.process.pod_logs.receiver]
    }

    loki.process "pod_logs" {
      // Kubelet writes CRI-format lines: strip the prefix first.
      stage.cri {}

      stage.match {
        selector = "{namespace=\"${var.app_namespace}\"}"

        stage.json {
          expressions = {
            ts         = "ts",
            level      = "level",
            request_id = "request_id",
            trace_id   = "trace_id",
            span_id    = "span_id",
          }
        }
        stage.timestamp {
          source = "ts"
          format = "RFC3339Nano"
        }
        stage.labels {
          values = { level = "" }
        }
        stage.structured_metadata {
          values = { request_id = "", trace_id = "", span_id = "" }
        }
      }

      forward_to = [loki.write.default.receiver]
    }

    loki.write "default" {
      endpoint {
        url = "${local.loki_url}/loki/api/v1/push"
      }
    }
  ALLOY

  # Alloy keeps its state (loki.source.file's read positions) under
  # storagePath. On the pod's own filesystem it is lost with the pod, and
  # a new pod would read every file under /var/log/pods from the start and
  # send it all to Loki again: keep it on the node, next to the logs.
  alloy_storage_path = "/var/lib/alloy/data"

  alloy_values = {
    alloy = {
      configMap   = { create = true, content = local.alloy_config }
      storagePath = local.alloy_storage_path
      # hostPath mounts of /var/log (the reason the namespace is privileged)
      # and of the state directory.
      mounts = {
        varlog = true
        extra  = [{ name = "alloy-state", mountPath = local.alloy_storage_path }]
      }
      resources = {
        requests = { cpu = "50m", memory = "128Mi" }
        limits   = { memory = "512Mi" }
      }
    }
    controller = {
      type = "daemonset"
      volumes = {
        extra = [{
          name     = "alloy-state"
          hostPath = { path = "/var/lib/alloy-guestbook", type = "DirectoryOrCreate" }
        }]
      }
    }
    serviceMonitor = { enabled = true }
  }
}

resource "helm_release" "loki" {
  name       = "loki"
  repository = "https://grafana-community.github.io/helm-charts"
  chart      = "loki"
  version    = var.chart_versions.loki
  namespace  = kubernetes_namespace_v1.monitoring.metadata[0].name
  timeout    = var.helm_timeout
  wait       = true

  values = [yamlencode(local.loki_values)]

  # ServiceMonitor CRD.
  depends_on = [helm_release.kube_prometheus_stack]
}

resource "helm_release" "alloy" {
  name       = "alloy"
  repository = "https://grafana.github.io/helm-charts"
  chart      = "alloy"
  version    = var.chart_versions.alloy
  namespace  = kubernetes_namespace_v1.monitoring.metadata[0].name
  timeout    = var.helm_timeout
  wait       = true

  values = [yamlencode(local.alloy_values)]

  depends_on = [helm_release.loki]
}
