#!/usr/bin/env bash
# Makes the image debian:bookworm-slim from Debian's packages when no
# registry can provide it: debootstrap --variant=minbase, trimmed the way
# the official slim image is (no documentation, manuals or locales, and a
# dpkg configuration that keeps them out of later installs), imported with
# docker import. Does nothing when the tag exists.
#
#   base-image.sh [TAG]            default debian:bookworm-slim
#   DEBIAN_MIRROR=http://...       default http://deb.debian.org/debian
set -euo pipefail
tag=${1:-debian:bookworm-slim}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm

if docker image inspect "$tag" >/dev/null 2>&1; then
	exit 0
fi
command -v debootstrap >/dev/null 2>&1 || {
	echo "base-image: debootstrap is missing (apt-get install debootstrap)" >&2
	exit 1
}
[[ $(id -u) -eq 0 ]] || { echo "base-image: debootstrap needs root" >&2; exit 1; }

root=$(mktemp -d "${TMPDIR:-/tmp}/gb-rootfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
echo "base-image: debootstrap --variant=minbase $suite from $mirror (a few minutes)" >&2
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1 || {
	tail -n 20 "$root.log" >&2
	rm -f "$root.log"
	echo "base-image: debootstrap failed" >&2
	exit 1
}
rm -f "$root.log"

cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
CFG
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
# The official image's sources: the release, its updates and security.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
find "$root/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$root"/usr/share/{man,info,groff,linda,lintian}/* "$root"/usr/share/locale/* \
	"$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
	"$root"/var/lib/apt/lists/* "$root"/var/log/* "$root"/tmp/*
tar --numeric-owner -C "$root" -c . |
	docker import -c 'CMD ["bash"]' -m "debootstrap --variant=minbase $suite" - "$tag" >/dev/null
echo "base-image: made $tag ($(docker image inspect -f '{{.Size}}' "$tag") bytes)" >&2
