# The Kind cluster, its namespaces and the ingress controller.
#
# kind needs a Docker daemon: the provider talks to the one DOCKER_HOST points
# at (or the default socket). With Docker Desktop, colima or rootless Docker
# export DOCKER_HOST first, see deploy/QUICKSTART.md.

resource "kind_cluster" "this" {
  name            = var.cluster_name
  node_image      = var.kind_node_image
  wait_for_ready  = true
  kubeconfig_path = var.kubeconfig_path != "" ? pathexpand(var.kubeconfig_path) : pathexpand("~/.kube/kind-${var.cluster_name}.kubeconfig")

  kind_config {
    kind        = "Cluster"
    api_version = "kind.x-k8s.io/v1alpha4"

    # One node: the control plane runs the workloads too. It is "ingress
    # ready": labelled for ingress-nginx's nodeSelector, and Docker publishes
    # its ports 80 and 443 (where ingress-nginx listens through hostPorts)
    # on the host's var.host_ports. Bound to loopback only: the *.localhost
    # names resolve there.
    node {
      role = "control-plane"

      # kind's node `labels` (rather than the kubeadm node-labels patch of
      # older guides, whose shape changed with kubeadm v1beta4).
      labels = {
        "ingress-ready" = "true"
      }

      extra_port_mappings {
        container_port = 80
        host_port      = var.host_ports.http
        listen_address = "127.0.0.1"
        protocol       = "TCP"
      }

      extra_port_mappings {
        container_port = 443
        host_port      = var.host_ports.https
        listen_address = "127.0.0.1"
        protocol       = "TCP"
      }
    }
  }

  lifecycle {
    # The provider replaces the cluster when kubeconfig_path changes, and
    # the path is the user's, not the cluster's: the same state used from
    # another clone, another HOME or with a new var.kubeconfig_path must not
    # destroy the cluster. The file stays where it was first written; to
    # write it elsewhere: kind export kubeconfig --name <cluster> --kubeconfig PATH
    ignore_changes = [kubeconfig_path]
  }
}

locals {
  # Every provider and resource that talks to the cluster reads it from here.
  kube = {
    host                   = kind_cluster.this.endpoint
    client_certificate     = kind_cluster.this.client_certificate
    client_key             = kind_cluster.this.client_key
    cluster_ca_certificate = kind_cluster.this.cluster_ca_certificate
    kubeconfig_path        = kind_cluster.this.kubeconfig_path
    context                = "kind-${kind_cluster.this.name}"
  }

  # Pod Security Admission labels. `enforce` rejects violating pods; `warn`
  # and `audit` report against `restricted` everywhere, so anything that
  # could be tightened shows up in `kubectl` warnings and the audit log.
  pod_security = {
    restricted = {
      "pod-security.kubernetes.io/enforce"         = "restricted"
      "pod-security.kubernetes.io/enforce-version" = "latest"
      "pod-security.kubernetes.io/warn"            = "restricted"
      "pod-security.kubernetes.io/warn-version"    = "latest"
      "pod-security.kubernetes.io/audit"           = "restricted"
      "pod-security.kubernetes.io/audit-version"   = "latest"
    }
    privileged = {
      "pod-security.kubernetes.io/enforce"       = "privileged"
      "pod-security.kubernetes.io/warn"          = "baseline"
      "pod-security.kubernetes.io/warn-version"  = "latest"
      "pod-security.kubernetes.io/audit"         = "restricted"
      "pod-security.kubernetes.io/audit-version" = "latest"
    }
  }
}

# The application: MongoDB, backend, frontend. Our charts run as non-root with
# a read-only root filesystem, no privilege escalation, all capabilities
# dropped and the RuntimeDefault seccomp profile, so the strictest level holds.
resource "kubernetes_namespace_v1" "app" {
  metadata {
    name = var.app_namespace
    labels = merge(local.pod_security.restricted, {
      "app.kubernetes.io/part-of" = "guestbook"
    })
  }
}

# Monitoring has to be `privileged`: prometheus-node-exporter (part of
# kube-prometheus-stack) uses hostNetwork, hostPID and hostPath mounts of /,
# /proc and /sys, and the Alloy DaemonSet reads the pods' log files through a
# hostPath mount of /var/log. Both are rejected by `baseline`.
resource "kubernetes_namespace_v1" "monitoring" {
  metadata {
    name = var.monitoring_namespace
    labels = merge(local.pod_security.privileged, {
      "app.kubernetes.io/part-of" = "guestbook-platform"
    })
  }
}

# ingress-nginx has to be `privileged` here: on Kind it listens on the node's
# ports 80/443 through hostPorts, which `baseline` forbids (its NET_BIND_SERVICE
# capability alone would pass `baseline`). Behind a LoadBalancer Service this
# namespace could be `baseline`.
resource "kubernetes_namespace_v1" "ingress" {
  metadata {
    name = var.ingress_namespace
    labels = merge(local.pod_security.privileged, {
      "app.kubernetes.io/part-of" = "guestbook-platform"
    })
  }
}

locals {
  ingress_nginx_values = {
    controller = {
      ingressClassResource = {
        name    = var.ingress_class_name
        enabled = true
        default = true
      }
      ingressClass = var.ingress_class_name
      hostPort = {
        enabled = true
        ports   = { http = 80, https = 443 }
      }
      service = { type = "ClusterIP" }
      nodeSelector = {
        "ingress-ready"    = "true"
        "kubernetes.io/os" = "linux"
      }
      tolerations = [
        { key = "node-role.kubernetes.io/control-plane", operator = "Equal", effect = "NoSchedule" },
      ]
      publishService = { enabled = false }
      extraArgs      = { "publish-status-address" = "localhost" }
      updateStrategy = {
        type          = "RollingUpdate"
        rollingUpdate = { maxUnavailable = 1 }
      }
      metrics = {
        enabled        = true
        serviceMonitor = { enabled = true }
      }
    }
  }
}

# ingress-nginx, set up the way Kind documents it: on the ingress-ready node,
# hostPorts 80/443, tolerating the control-plane taint, and no LoadBalancer.
# (The project was retired upstream in March 2026: it still works but gets no
# fixes; the class name is a variable so another controller can take over.)
resource "helm_release" "ingress_nginx" {
  name       = "ingress-nginx"
  repository = "https://kubernetes.github.io/ingress-nginx"
  chart      = "ingress-nginx"
  version    = var.chart_versions.ingress_nginx
  namespace  = kubernetes_namespace_v1.ingress.metadata[0].name
  timeout    = var.helm_timeout
  wait       = true

  values = [yamlencode(local.ingress_nginx_values)]

  # Its ServiceMonitor (metrics) needs the prometheus-operator CRDs.
  depends_on = [helm_release.kube_prometheus_stack]
}
