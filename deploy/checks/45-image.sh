#!/usr/bin/env bash
# The container image: built from the repository's Dockerfile (the base
# image made with debootstrap when no registry has it), then run the way
# Kubernetes runs it: non-root, read-only root filesystem, a tmpfs for
# /var/lib/guestbook, no capabilities. Checks the size (< 120 MB), the
# user (10001), labels and HEALTHCHECK, /health, /ready, a POST and GETs of
# /api/v1/messages, /metrics, Docker's own health check, and a clean exit 0
# on SIGTERM within the grace period the charts give it. Then the charts'
# environment contract end to end: role backend over MongoDB's wire
# protocol (FerretDB) and role frontend over that backend.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

IMAGE=${GUESTBOOK_IMAGE:-guestbookd:deploy-check}
BASE_IMAGE=debian:bookworm-slim
MAX_BYTES=120000000
# As the charts set them: terminationGracePeriodSeconds = drain + timeout + 5.
DRAIN=2
SHUTDOWN_TIMEOUT=10
GRACE=$((DRAIN + SHUTDOWN_TIMEOUT + 5))

# dockerd is the program that must exist: the client alone (which some
# machine images carry) cannot build or run anything.
need_apt dockerd docker.io
need_apt curl curl
need_python_yaml

# A Docker daemon: start one when none answers (CI starts with none).
if ! docker info >/dev/null 2>&1; then
	[[ $(id -u) -eq 0 ]] || die "no Docker daemon answers; start it (dockerd needs root)"
	log "starting dockerd (log: $TOOLS_DIR/dockerd.log)"
	nohup dockerd >"$TOOLS_DIR/dockerd.log" 2>&1 &
	for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
	docker info >/dev/null 2>&1 || {
		tail -n 20 "$TOOLS_DIR/dockerd.log" >&2
		die "dockerd did not start"
	}
fi
log "docker: client $(docker version -f '{{.Client.Version}}' 2>/dev/null), daemon $(docker version -f '{{.Server.Version}}' 2>/dev/null)"

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
	need_apt debootstrap debootstrap
	log "$BASE_IMAGE is missing: making it with debootstrap"
	bash "$CHECKS_DIR/tools/base-image.sh" "$BASE_IMAGE" || die "could not make $BASE_IMAGE"
fi

# apt inside the build uses the host's network; pass the host's apt proxy
# when it has one (none here: deb.debian.org resolves to a mirror).
proxy=${APT_PROXY:-$(apt-config dump 2>/dev/null | sed -n 's/^Acquire::http::Proxy "\(.*\)";$/\1/p' | head -n1)}
proxy=${proxy:-${http_proxy:-${HTTP_PROXY:-}}}
version=$(sed -n 's/^VERSION[[:space:]]*:=[[:space:]]*//p' "$REPO_DIR/Makefile" | head -n1)
[[ -n $version ]] || die "no VERSION := line in the Makefile"
build_args=(--build-arg "VERSION=$version" --build-arg "REVISION=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	--build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)")
[[ -n $proxy ]] && build_args+=(--build-arg "APT_PROXY=$proxy") && log "apt proxy for the build: $proxy"

work=$(scratch_dir)
log "docker build --network host -t $IMAGE ."
if ! timeout 1500 docker build --network host "${build_args[@]}" -t "$IMAGE" "$REPO_DIR" >"$work/build.log" 2>&1; then
	tail -n 40 "$work/build.log" >&2
	die "docker build failed (last lines above)"
fi

size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
log "image size: $size bytes ($((size / 1000000)) MB)"
[[ $size -lt $MAX_BYTES ]] || die "image is $size bytes, the limit is $MAX_BYTES"

docker image inspect -f '{{json .Config}}' "$IMAGE" >"$work/config.json"
"$PY" - "$work/config.json" <<'PY' || die "image configuration is wrong (above)"
import json, sys
c = json.load(open(sys.argv[1]))
errs = []
if c.get("User") not in ("10001", "10001:10001"):
    errs.append(f"User is {c.get('User')!r}, not 10001")
if c.get("Entrypoint") != ["guestbookd"]:
    errs.append(f"Entrypoint is {c.get('Entrypoint')}")
if "8080/tcp" not in (c.get("ExposedPorts") or {}):
    errs.append("port 8080 not exposed")
hc = (c.get("Healthcheck") or {}).get("Test") or []
if hc[:4] != ["CMD", "guestbookd", "--probe", "/health"]:
    errs.append(f"HEALTHCHECK is {hc}")
env = dict(e.split("=", 1) for e in c.get("Env") or [])
if env.get("GUESTBOOK_SQLITE_PATH") != "/var/lib/guestbook/guestbook.db":
    errs.append("GUESTBOOK_SQLITE_PATH is not under /var/lib/guestbook")
labels = c.get("Labels") or {}
for l in ("title", "description", "version", "revision", "created", "base.name"):
    if not labels.get("org.opencontainers.image." + l):
        errs.append(f"label org.opencontainers.image.{l} missing")
for e in errs:
    print("  " + e, file=sys.stderr)
sys.exit(1 if errs else 0)
PY

name="gb-deploy-check-$$"
on_exit "docker rm -f $name"
# free_port's port can be taken (as another connection's source port)
# before the container binds it: a bind failure is retried on a new port.
for _ in 1 2 3; do
	port=$(free_port)
	log "docker run --read-only --tmpfs /var/lib/guestbook --user default (port $port)"
	docker run -d --name "$name" --network host --read-only \
		--tmpfs /var/lib/guestbook:rw,nosuid,nodev,uid=10001,gid=10001,mode=0750 \
		--cap-drop ALL --security-opt no-new-privileges \
		--health-interval 2s --health-start-period 2s \
		-e PORT="$port" -e GUESTBOOK_DRAIN_SECONDS="$DRAIN" \
		-e GUESTBOOK_SHUTDOWN_TIMEOUT="$SHUTDOWN_TIMEOUT" \
		"$IMAGE" >/dev/null || die "docker run failed"
	sleep 0.5
	started=$(docker logs "$name" 2>&1 || true)
	[[ $started == *"Address already in use"* ]] || break
	log "port $port was taken before the container bound it; again on another"
	docker rm -f "$name" >/dev/null 2>&1 || true
done

base="http://127.0.0.1:$port"
fail_run() {
	docker logs "$name" 2>&1 | tail -n 20 >&2
	die "$*"
}
# http METHOD PATH [JSON] (against $base; PATH may be a full URL): prints
# the status; the body is in $work/body, the headers in $work/headers.
http() {
	local url=$2
	[[ $url == http* ]] || url=$base$url
	local args=(-s -o "$work/body" -w '%{http_code}' -X "$1" --max-time 10)
	[[ -n ${3:-} ]] && args+=(-H 'Content-Type: application/json' --data "$3")
	curl "${args[@]}" -D "$work/headers" "$url" || echo 000
}

up=
for _ in $(seq 100); do
	[[ $(http GET /health) == 200 ]] && up=1 && break
	[[ $(docker inspect -f '{{.State.Running}}' "$name") == true ]] || fail_run "the container exited at start"
	sleep 0.2
done
[[ -n $up ]] || fail_run "/health never answered 200"
log "GET /health 200"

code=$(http GET /ready)
[[ $code == 200 ]] || fail_run "GET /ready answered $code: $(cat "$work/body")"
log "GET /ready 200"

msg="deploy-check $(date +%s)"
code=$(http POST /api/v1/messages "{\"author\":\"deploy-check\",\"message\":\"$msg\"}")
[[ $code == 201 ]] || fail_run "POST /api/v1/messages answered $code: $(cat "$work/body")"
location=$(sed -n 's/^[Ll]ocation: *\([^[:space:]]*\).*/\1/p' "$work/headers")
[[ $location == /api/v1/messages/* ]] || fail_run "POST /api/v1/messages: no Location header"
log "POST /api/v1/messages 201, Location $location"

code=$(http GET "$location")
if [[ $code != 200 ]] || ! grep -qF "$msg" "$work/body"; then
	fail_run "GET $location answered $code: $(cat "$work/body")"
fi
code=$(http GET "/api/v1/messages?limit=5")
if [[ $code != 200 ]] || ! grep -qF "$msg" "$work/body"; then
	fail_run "GET /api/v1/messages answered $code without the message"
fi
log "GET /api/v1/messages 200 with the message"

code=$(http GET /metrics)
if [[ $code != 200 ]] || ! grep -q '^guestbook_messages_created_total' "$work/body" ||
	! grep -q '^http_requests_total{' "$work/body"; then
	fail_run "GET /metrics answered $code without the metrics"
fi
log "GET /metrics 200"

uid=$(docker exec "$name" id -u) || fail_run "docker exec id failed"
[[ $uid == 10001 ]] || fail_run "the process runs as uid $uid, not 10001"
docker exec "$name" sh -c 'touch /usr/local/bin/x' 2>/dev/null && fail_run "the root filesystem is writable"
log "runs as uid 10001 on a read-only root filesystem"

health=
for _ in $(seq 40); do
	health=$(docker inspect -f '{{.State.Health.Status}}' "$name")
	[[ $health == healthy ]] && break
	sleep 0.5
done
[[ $health == healthy ]] || fail_run "Docker's HEALTHCHECK says $health"
log "HEALTHCHECK (guestbookd --probe /health): healthy"

# Logs: one JSON object per line, on stdout.
docker logs "$name" >"$work/stdout.log" 2>/dev/null
"$PY" - "$work/stdout.log" <<'PY' || fail_run "stdout is not one JSON object per line"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines, "nothing on stdout"
for line in lines:
    o = json.loads(line)
    assert {"ts", "level", "msg"} <= o.keys(), line
print(f"[45-image] {len(lines)} log lines on stdout, all JSON", file=sys.stderr)
PY

log "SIGTERM (drain ${DRAIN}s, shutdown timeout ${SHUTDOWN_TIMEOUT}s, grace ${GRACE}s)"
start=$(date +%s%N)
docker kill -s TERM "$name" >/dev/null
sleep 0.5
code=$(http GET /ready)
[[ $code == 503 ]] || fail_run "/ready answered $code while draining, not 503"
log "GET /ready 503 while draining"
status=$(timeout "$((GRACE + 5))" docker wait "$name") || fail_run "still running $((GRACE + 5))s after SIGTERM"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
[[ $status == 0 ]] || fail_run "exit status $status after SIGTERM"
[[ $elapsed_ms -le $((GRACE * 1000)) ]] || fail_run "exit took ${elapsed_ms}ms, the grace period is ${GRACE}s"
log "exit 0 after SIGTERM in ${elapsed_ms}ms"

# The charts' environment contract, end to end: a backend over MongoDB's
# wire protocol (FerretDB, built by the tests' own script) and a frontend
# over that backend, both read-only and non-root, configured with exactly
# the variables guestbook-backend and guestbook-frontend set.
ferret="$REPO_DIR/tests/lib/ferretdb.sh"
[[ -f $ferret ]] || die "tests/lib/ferretdb.sh is missing: cannot start a MongoDB-compatible server"
log "starting FerretDB (tests/lib/ferretdb.sh; built once)"
read -r mongo_port _ < <(bash "$ferret" start "$work/ferretdb") || die "FerretDB did not start"
[[ -n ${mongo_port:-} ]] || die "FerretDB did not start"
on_exit "bash '$ferret' stop '$work/ferretdb'"

# run_role NAME PORT ENV...: starts the image like the charts do.
run_role() {
	local cname=$1 cport=$2
	shift 2
	local envs=() e
	for e in "$@"; do envs+=(-e "$e"); done
	on_exit "docker rm -f $cname"
	docker run -d --name "$cname" --network host --read-only \
		--tmpfs /var/lib/guestbook:rw,nosuid,nodev,uid=10001,gid=10001,mode=0750 \
		--tmpfs /tmp:rw,nosuid,nodev,mode=1777 \
		--cap-drop ALL --security-opt no-new-privileges \
		-e PORT="$cport" -e GUESTBOOK_LOG_FORMAT=json -e GUESTBOOK_LOG_LEVEL=info \
		-e GUESTBOOK_RATE_LIMIT=60 -e GUESTBOOK_DRAIN_SECONDS="$DRAIN" \
		-e GUESTBOOK_SHUTDOWN_TIMEOUT="$SHUTDOWN_TIMEOUT" "${envs[@]}" \
		"$IMAGE" >/dev/null || die "docker run $cname failed"
	local i
	for _ in $(seq 100); do
		[[ $(http GET "http://127.0.0.1:$cport/ready") == 200 ]] && return 0
		if [[ $(docker inspect -f '{{.State.Running}}' "$cname") != true ]]; then
			break
		fi
		sleep 0.2
	done
	name=$cname
	fail_run "$cname never became ready: $(cat "$work/body" 2>/dev/null)"
}

backend_port=$(free_port)
run_role "$name-backend" "$backend_port" GUESTBOOK_ROLE=backend GUESTBOOK_STORAGE=mongo \
	"GUESTBOOK_MONGO_URI=mongodb://127.0.0.1:$mongo_port/guestbook" GUESTBOOK_TRUST_PROXY=true
log "backend (GUESTBOOK_ROLE=backend, GUESTBOOK_STORAGE=mongo, GUESTBOOK_MONGO_URI) ready"
frontend_port=$(free_port)
run_role "$name-frontend" "$frontend_port" GUESTBOOK_ROLE=frontend \
	"GUESTBOOK_API_ADDR=127.0.0.1:$backend_port" GUESTBOOK_TRUST_PROXY=true
log "frontend (GUESTBOOK_ROLE=frontend, GUESTBOOK_API_ADDR) ready"

name=$name-frontend
front="http://127.0.0.1:$frontend_port"
back="http://127.0.0.1:$backend_port"
signed="signed through the frontend $(date +%s)"
code=$(curl -s -o "$work/body" -w '%{http_code}' --max-time 10 -X POST \
	--data-urlencode "name=deploy-check" --data-urlencode "message=$signed" "$front/post" || echo 000)
[[ $code == 303 ]] || fail_run "frontend POST /post answered $code, not 303"
code=$(http GET "$front/")
if [[ $code != 200 ]] || ! grep -qF "$signed" "$work/body"; then
	fail_run "frontend GET / answered $code without the message"
fi
log "frontend: POST /post 303, GET / shows the message"
name=${name%-frontend}-backend
code=$(http GET "$back/messages")
if [[ $code != 201 ]] || ! grep -qF "$signed" "$work/body"; then
	fail_run "backend legacy GET /messages answered $code without the message"
fi
log "backend: legacy GET /messages 201 with the message (stored in MongoDB)"

# What the charts' `helm test` pods run: the image in probe mode against
# the Service address.
for url in "$back/ready" "$back/api/v1/messages?limit=1" "$front/ready" "$front/"; do
	docker run --rm --network host --read-only --cap-drop ALL --security-opt no-new-privileges \
		"$IMAGE" --probe-url "$url" >/dev/null 2>&1 || die "guestbookd --probe-url $url failed"
done
docker run --rm --network host --read-only "$IMAGE" --probe-url "$back/no/such/page" >/dev/null 2>&1 &&
	die "guestbookd --probe-url exits 0 on a 404"
log "helm test probes (guestbookd --probe-url) pass, and fail on a 404"

for role in frontend backend; do
	docker kill -s TERM "${name%-backend}-$role" >/dev/null
	status=$(timeout "$((GRACE + 5))" docker wait "${name%-backend}-$role") ||
		die "$role still running $((GRACE + 5))s after SIGTERM"
	[[ $status == 0 ]] || die "$role exited $status after SIGTERM"
done
log "backend and frontend exit 0 after SIGTERM"
