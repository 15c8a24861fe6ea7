# Traces: Jaeger (the jaegertracing chart, Jaeger v2) as the one collector
# and store, in memory: traces are for looking at what happened in the last
# hours, not an archive, and a restart empties it. The apps send OTLP/HTTP
# (JSON) to port 4318; Grafana and the UI read the query API on 16686.

locals {
  jaeger_otlp_port = 4318
  jaeger_otlp_url  = "http://jaeger.${var.monitoring_namespace}.svc.cluster.local:${local.jaeger_otlp_port}"
  jaeger_query_url = "http://jaeger.${var.monitoring_namespace}.svc.cluster.local:16686"
  # The chart's pod labels, for the apps' egress NetworkPolicy.
  jaeger_pod_labels = {
    "app.kubernetes.io/name"      = "jaeger"
    "app.kubernetes.io/instance"  = "jaeger"
    "app.kubernetes.io/component" = "all-in-one"
  }

  # Jaeger v2 is an OpenTelemetry Collector distribution: this is its whole
  # configuration (the chart's `userconfig`). deploy/checks/50-terraform.sh
  # runs `jaeger validate` on it with the real Jaeger binary.
  jaeger_config = {
    service = {
      extensions = ["jaeger_storage", "jaeger_query", "healthcheckv2"]
      pipelines = {
        traces = {
          receivers  = ["otlp"]
          processors = ["batch"]
          exporters  = ["jaeger_storage_exporter"]
        }
      }
      telemetry = {
        resource = { "service.name" = "jaeger" }
        metrics = {
          level = "basic"
          readers = [{
            pull = { exporter = { prometheus = { host = "0.0.0.0", port = 8888 } } }
          }]
        }
        logs = { level = "info" }
      }
    }
    extensions = {
      # The chart's probes ask port 13133 for /status.
      healthcheckv2 = { use_v2 = true, http = { endpoint = "0.0.0.0:13133" } }
      jaeger_storage = {
        backends = { memstore = { memory = { max_traces = 50000 } } }
      }
      jaeger_query = {
        storage = { traces = "memstore" }
        http    = { endpoint = "0.0.0.0:16686" }
        grpc    = { endpoint = "0.0.0.0:16685" }
      }
    }
    receivers = {
      otlp = {
        protocols = {
          http = { endpoint = "0.0.0.0:${local.jaeger_otlp_port}" }
          grpc = { endpoint = "0.0.0.0:4317" }
        }
      }
    }
    processors = { batch = {} }
    exporters = {
      jaeger_storage_exporter = { trace_storage = "memstore" }
    }
  }

  jaeger_values = {
    fullnameOverride = "jaeger"
    userconfig       = local.jaeger_config
    jaeger = {
      ingress = {
        enabled          = true
        ingressClassName = var.ingress_class_name
        hosts            = [local.hosts.jaeger]
        pathType         = "Prefix"
      }
      resources = {
        requests = { cpu = "50m", memory = "128Mi" }
        limits   = { memory = "1Gi" }
      }
    }
  }
}

resource "helm_release" "jaeger" {
  name       = "jaeger"
  repository = "https://jaegertracing.github.io/helm-charts"
  chart      = "jaeger"
  version    = var.chart_versions.jaeger
  namespace  = kubernetes_namespace_v1.monitoring.metadata[0].name
  timeout    = var.helm_timeout
  wait       = true

  values = [yamlencode(local.jaeger_values)]
}
