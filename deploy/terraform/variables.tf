variable "cluster_name" {
  description = "Name of the Kind cluster (kubectl context kind-<name>)."
  type        = string
  default     = "guestbook"
}

variable "kind_node_image" {
  description = "kindest/node image for the cluster; null uses the default of the kind release the provider embeds."
  type        = string
  default     = null
}

variable "kubeconfig_path" {
  description = "Where the kind provider writes the cluster's kubeconfig when it creates the cluster; empty means ~/.kube/kind-<cluster_name>.kubeconfig. Read once: changing it later leaves the cluster and the file as they are (lifecycle ignore_changes)."
  type        = string
  default     = ""
}

variable "host_ports" {
  description = "Ports on the host's 127.0.0.1 where the Kind node publishes the ingress (http, https). Rootless Docker or Podman cannot bind ports below net.ipv4.ip_unprivileged_port_start (1024 by default): use { http = 8080, https = 8443 } there, or lower that sysctl (deploy/QUICKSTART.md). Changing it recreates the cluster."
  type = object({
    http  = number
    https = number
  })
  default = { http = 80, https = 443 }

  validation {
    condition = alltrue([
      for p in [var.host_ports.http, var.host_ports.https] : p >= 1 && p <= 65535 && floor(p) == p
    ]) && var.host_ports.http != var.host_ports.https
    error_message = "host_ports.http and host_ports.https must be two different TCP ports (1-65535)."
  }
}

variable "ingress_class_name" {
  description = "IngressClass created by ingress-nginx and used by every Ingress here."
  type        = string
  default     = "nginx"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.ingress_class_name))
    error_message = "ingress_class_name must be a DNS label (lower case letters, digits, '-')."
  }
}

variable "app_namespace" {
  description = "Namespace of MongoDB, backend and frontend (Pod Security: restricted)."
  type        = string
  default     = "guestbook"
}

variable "monitoring_namespace" {
  description = "Namespace of kube-prometheus-stack, Loki and Alloy."
  type        = string
  default     = "monitoring"
}

variable "ingress_namespace" {
  description = "Namespace of the ingress-nginx controller."
  type        = string
  default     = "ingress-nginx"
}

variable "image_repository" {
  description = "guestbookd image (one image for every role), loaded into Kind by build.sh."
  type        = string
  default     = "guestbookd"
}

variable "image_tag" {
  description = "guestbookd image tag. build.sh builds and loads this tag too."
  type        = string
  default     = "dev"
}

variable "pagerduty_integration_key" {
  description = "PagerDuty Events API v2 integration (routing) key. From secrets.tfvars; never set in CI (CI clusters must not page: the workflows assert the placeholder). Empty: the Secret holds a placeholder and PagerDuty rejects the notifications (alerts still show in Alertmanager and Grafana)."
  type        = string
  default     = ""
  sensitive   = true
  nullable    = false
}

variable "grafana_admin_password" {
  description = "Password of Grafana's admin user (stored in a Kubernetes Secret)."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.grafana_admin_password) >= 8
    error_message = "grafana_admin_password must be at least 8 characters."
  }
}

variable "chart_versions" {
  description = "Versions of the upstream Helm charts."
  type = object({
    ingress_nginx         = string
    kube_prometheus_stack = string
    loki                  = string
    alloy                 = string
    jaeger                = string
  })
  default = {
    ingress_nginx         = "4.15.1"
    kube_prometheus_stack = "88.5.3"
    loki                  = "18.11.0"
    alloy                 = "1.11.1"
    jaeger                = "4.11.1"
  }
}

variable "helm_timeout" {
  description = "Seconds Terraform waits for each Helm release to become ready."
  type        = number
  default     = 900
}
