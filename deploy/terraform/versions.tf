# Works with Terraform >= 1.5 and OpenTofu >= 1.6 (checked offline with
# OpenTofu 1.6.3 by deploy/checks/50-terraform.sh).
#
# Provider pins:
# - tehcyx/kind 0.11.0 (kind v0.31 underneath).
# - hashicorp/helm 3.x: written for 3.1.2 with the v3 syntax
#   (`kubernetes = { ... }`, `set = [{ ... }]`); 3.2 has the same schema.
# - hashicorp/kubernetes: 2.38.x or 3.x. Only the `_v1` resources are used,
#   which have the same schema in both lines (3.0 deprecated the unversioned
#   names), so either line works; the offline check validates with 3.x.
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    kind = {
      source  = "tehcyx/kind"
      version = "0.11.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = ">= 3.1.2, < 4.0.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.38.0, < 4.0.0"
    }
  }
}
