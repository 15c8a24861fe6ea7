#!/usr/bin/env bash
# diagnostics.sh: what a failed or cancelled deploy job prints to explain
# itself. Every section runs even when an earlier one fails.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NAMESPACE=${NAMESPACE:-guestbook}
KUBECONFIG=$(mktemp)
export KUBECONFIG
trap 'rm -f "$KUBECONFIG"' EXIT
kind get kubeconfig --name "${CLUSTER_NAME:-guestbook}" >"$KUBECONFIG" || exit 0
section() { echo "::group::$*"; }
end() { echo "::endgroup::"; }
section "pods";           kubectl get pods -A -o wide; end
section "events";         kubectl get events -A --sort-by=.lastTimestamp | tail -n 100; end
section "helm releases";  helm list -A; end
section "ingresses";      kubectl get ingress -A; end
section "not ready pods"
kubectl get pods -A | awk -f "$HERE/not-ready-pods.awk" |
  while read -r ns pod; do
    echo "--- $ns/$pod"
    kubectl -n "$ns" describe pod "$pod" | tail -n 40
  done
end
section "guestbook logs"; kubectl -n "$NAMESPACE" logs --all-containers --prefix --tail=100 -l app.kubernetes.io/part-of=guestbook,app.kubernetes.io/component!=helm-test; end
# `helm test` pods that failed (those that passed are deleted by their
# hook-delete-policy), every container.
section "helm test logs"; kubectl -n "$NAMESPACE" logs --all-containers --prefix --tail=100 -l app.kubernetes.io/component=helm-test; end
