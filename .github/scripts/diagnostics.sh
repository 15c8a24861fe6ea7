#!/usr/bin/env bash
# diagnostics.sh: what a failed deploy job prints to explain itself.
set -uo pipefail
KUBECONFIG=$(mktemp)
export KUBECONFIG
kind get kubeconfig --name "${CLUSTER_NAME:-guestbook}" >"$KUBECONFIG" || exit 0
section() { echo "::group::$*"; }
end() { echo "::endgroup::"; }
section "pods";           kubectl get pods -A -o wide; end
section "events";         kubectl get events -A --sort-by=.lastTimestamp | tail -n 100; end
section "helm releases";  helm list -A; end
section "ingresses";      kubectl get ingress -A; end
section "not ready pods"
kubectl get pods -A --no-headers | awk '$3 !~ /Running|Completed/ || $2 ~ /^0\// {print $1, $2}' |
  while read -r ns pod; do kubectl -n "$ns" describe pod "$pod" | tail -n 40; done
end
section "guestbook logs"; kubectl -n "${NAMESPACE:-guestbook}" logs --all-containers --prefix --tail=100 -l app.kubernetes.io/part-of=guestbook; end
rm -f "$KUBECONFIG"
