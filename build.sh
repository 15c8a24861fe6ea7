#!/usr/bin/env bash
# build.sh: build the guestbookd image (one image for every role), load it
# into the local Kind cluster and roll out the chosen Helm releases.
#
#   ./build.sh --all | --backend | --frontend [--no-deploy]
#
# The cluster and the platform come from Terraform (deploy/QUICKSTART.md);
# this script only ships the application, with the same chart values as
# Terraform (deploy/terraform/values/*.yaml).
#
# Who owns image.tag: build.sh, between Terraform changes. It upgrades the
# releases to the build's own tag (IMAGE_TAG), and Terraform does not notice:
# the helm provider compares the values in its state, never the release's, so
# `terraform apply` leaves the release on that tag. Only when Terraform
# changes the release itself (its values, the chart) does it deploy
# var.image_tag again; build.sh moves that tag (dev) to every new build, so
# even then the newest build keeps running.
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
               $IMAGE_REPOSITORY:$STABLE_TAG too, the tag Terraform deploys
               when it changes a release)
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
# The whole list first, then an exact match: `kind get clusters | grep -q`
# under pipefail fails when grep exits at the first match and kind dies of
# SIGPIPE writing the rest.
clusters=$(kind get clusters 2>/dev/null) || die "'kind get clusters' failed; is the Docker daemon reachable?"
grep -Fx -- "$CLUSTER_NAME" <<<"$clusters" >/dev/null ||
  die "no Kind cluster named '$CLUSTER_NAME' (found: ${clusters:-none}): create it with Terraform first (deploy/QUICKSTART.md) or set CLUSTER_NAME"

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

# kind load docker-image pipes `docker save` into the node's containerd; with
# Docker's containerd image store (the default from Docker 29) that import
# can fail ("content digest ... not found", kind#3795). Then save one
# platform to a file and load the archive.
load_into_kind() {
  if kind load docker-image --name "$CLUSTER_NAME" "$@"; then
    return 0
  fi
  echo "==> kind load docker-image failed; loading through docker save + kind load image-archive"
  local archive platform=() help
  archive=$(mktemp "${TMPDIR:-/tmp}/guestbookd-image.XXXXXX.tar")
  # --platform (Docker 28+) keeps the archive to the node's platform.
  help=$(docker image save --help 2>&1 || true)
  if [[ $help == *--platform* ]]; then
    platform=(--platform "$(docker version --format '{{.Server.Os}}/{{.Server.Arch}}')")
  fi
  if ! docker image save "${platform[@]}" -o "$archive" "$@" ||
    ! kind load image-archive --name "$CLUSTER_NAME" "$archive"; then
    rm -f "$archive"
    die "cannot load $* into Kind cluster $CLUSTER_NAME (both kind load docker-image and image-archive failed)"
  fi
  rm -f "$archive"
}

echo "==> loading $image into Kind cluster $CLUSTER_NAME"
load_into_kind "$image" "$IMAGE_REPOSITORY:$STABLE_TAG"

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

# The host port the node publishes the ingress on (Terraform's
# var.host_ports.http: 80, or e.g. 8080 with rootless Docker or Podman).
http_port=$(docker port "$CLUSTER_NAME-control-plane" 80/tcp 2>/dev/null | sed -n '1s/.*://p')
port_suffix=
if [ -n "$http_port" ] && [ "$http_port" != 80 ]; then
  port_suffix=:$http_port
fi

cat <<EOF

Deployed ${releases[*]} with image $image to namespace $NAMESPACE of Kind cluster $CLUSTER_NAME.
  App:          http://localhost$port_suffix
  Grafana:      http://grafana.localhost$port_suffix  (logs: Explore > Loki, {namespace="$NAMESPACE"})
  Prometheus:   http://prometheus.localhost$port_suffix/targets
  Alerts:       http://grafana.localhost$port_suffix/alerting/list
  Pods:         kubectl --context kind-$CLUSTER_NAME -n $NAMESPACE get pods
  Logs:         kubectl --context kind-$CLUSTER_NAME -n $NAMESPACE logs -l app.kubernetes.io/part-of=guestbook --prefix --tail=20
EOF
