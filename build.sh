#!/usr/bin/env bash
# build.sh: build the guestbookd image (one image for every role), load it
# into the local Kind cluster and roll out the chosen Helm releases.
#
#   ./build.sh --all | --backend | --frontend [--no-deploy]
#
# The cluster and the platform come from Terraform (deploy/QUICKSTART.md);
# this script only ships the application. It uses the same chart values as
# Terraform (deploy/terraform/values/*.yaml), so running it and then
# `terraform apply` leaves the same releases (Terraform sets image.tag back
# to its var.image_tag, which build.sh keeps pointing at the newest build).
# Safe to rerun: every step is idempotent.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLUSTER_NAME=${CLUSTER_NAME:-guestbook}
NAMESPACE=${NAMESPACE:-guestbook}
IMAGE_REPOSITORY=${IMAGE_REPOSITORY:-guestbookd}
# The tag Terraform deploys (var.image_tag): always moved to the newest build.
STABLE_TAG=${STABLE_TAG:-dev}
HELM_TIMEOUT=${HELM_TIMEOUT:-5m}
VALUES_DIR=$ROOT/deploy/terraform/values
CHARTS_DIR=$ROOT/deploy/helm

usage() {
  cat <<EOF
Usage: $0 --all | --backend | --frontend [--no-deploy]

  --all        build the image and deploy MongoDB, backend and frontend
  --backend    build the image and deploy the backend
  --frontend   build the image and deploy the frontend
  --no-deploy  only build the image and load it into Kind (as
               $IMAGE_REPOSITORY:$STABLE_TAG too, the tag Terraform deploys)
  -h, --help   this text

Environment: CLUSTER_NAME (default guestbook), NAMESPACE (guestbook),
IMAGE_REPOSITORY (guestbookd), IMAGE_TAG (default: the git revision, plus a
timestamp when the work tree has changes), HELM_TIMEOUT (5m).
Needs docker, kind, helm and kubectl, and a Kind cluster made by Terraform
(deploy/QUICKSTART.md).
EOF
}

die() {
  printf 'build.sh: %s\n' "$*" >&2
  exit 1
}

releases=()
deploy=yes
[ $# -gt 0 ] || { usage >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --all) releases=(mongodb backend frontend) ;;
    --backend) releases+=(backend) ;;
    --frontend) releases+=(frontend) ;;
    --no-deploy) deploy=no ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done
[ ${#releases[@]} -gt 0 ] || [ "$deploy" = no ] || { usage >&2; die "choose --all, --backend or --frontend"; }

for tool in docker kind helm kubectl; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "'$tool' is not installed or not on PATH; see the prerequisites in deploy/QUICKSTART.md"
done
docker info >/dev/null 2>&1 ||
  die "cannot reach the Docker daemon (is it running? is DOCKER_HOST set? see deploy/QUICKSTART.md)"
kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME" ||
  die "no Kind cluster named '$CLUSTER_NAME': create it with Terraform first (deploy/QUICKSTART.md) or set CLUSTER_NAME"

if [ -z "${IMAGE_TAG:-}" ]; then
  IMAGE_TAG=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo local)
  if [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]; then
    IMAGE_TAG=$IMAGE_TAG-dirty-$(date -u +%Y%m%d%H%M%S)
  fi
fi
image=$IMAGE_REPOSITORY:$IMAGE_TAG

# Talk to the Kind cluster through its own kubeconfig, whatever the current
# kubectl context is; the user's ~/.kube/config is left alone.
KUBECONFIG=$(mktemp)
export KUBECONFIG
trap 'rm -f "$KUBECONFIG"' EXIT
kind get kubeconfig --name "$CLUSTER_NAME" >"$KUBECONFIG"

echo "==> docker build -t $image"
version=$(sed -n 's/^VERSION *:= *//p' "$ROOT/Makefile")
docker build \
  --build-arg "VERSION=${version:-0.0.0}" \
  --build-arg "REVISION=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" \
  --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -t "$image" -t "$IMAGE_REPOSITORY:$STABLE_TAG" "$ROOT"

echo "==> kind load docker-image into cluster $CLUSTER_NAME"
kind load docker-image --name "$CLUSTER_NAME" "$image" "$IMAGE_REPOSITORY:$STABLE_TAG"

if [ "$deploy" = no ]; then
  echo "Loaded $image and $IMAGE_REPOSITORY:$STABLE_TAG into Kind cluster $CLUSTER_NAME."
  exit 0
fi

# Terraform creates the namespace (Pod Security "restricted"); create it the
# same way when the cluster was made without it (the CI workflows).
if ! kubectl get namespace "$NAMESPACE" >/dev/null 2>&1; then
  echo "==> creating namespace $NAMESPACE (Pod Security: restricted)"
  kubectl create namespace "$NAMESPACE"
  kubectl label namespace "$NAMESPACE" \
    pod-security.kubernetes.io/enforce=restricted \
    pod-security.kubernetes.io/warn=restricted \
    pod-security.kubernetes.io/audit=restricted
fi

for name in "${releases[@]}"; do
  chart=guestbook-$name
  [ -d "$CHARTS_DIR/$chart" ] || die "chart $CHARTS_DIR/$chart not found"
  [ -f "$VALUES_DIR/$name.yaml" ] || die "values $VALUES_DIR/$name.yaml not found"
  echo "==> helm upgrade --install $chart"
  args=(upgrade --install "$chart" "$CHARTS_DIR/$chart"
    --namespace "$NAMESPACE" --wait --timeout "$HELM_TIMEOUT"
    -f "$VALUES_DIR/$name.yaml")
  if [ "$name" != mongodb ]; then
    args+=(--set "image.repository=$IMAGE_REPOSITORY" --set "image.tag=$IMAGE_TAG")
  fi
  helm "${args[@]}"
done

cat <<EOF

Deployed ${releases[*]} with image $image to namespace $NAMESPACE of Kind cluster $CLUSTER_NAME.
  App:          http://localhost
  Grafana:      http://grafana.localhost  (logs: Explore > Loki, {namespace="$NAMESPACE"})
  Prometheus:   http://prometheus.localhost/targets
  Alerts:       http://grafana.localhost/alerting/list
  Pods:         kubectl --context kind-$CLUSTER_NAME -n $NAMESPACE get pods
  Logs:         kubectl --context kind-$CLUSTER_NAME -n $NAMESPACE logs -l app.kubernetes.io/part-of=guestbook --prefix --tail=20
EOF
