# guestbookd: one image for every role (all, backend, frontend).
#
#   docker build --network host -t guestbookd .
#   docker run --read-only --tmpfs /var/lib/guestbook -p 8080:8080 guestbookd
#
# Stages:
#   build         compiles guestbookd and its plugins (make all, make install)
#   runtime-root  Debian + the runtime libraries + the installed files; the
#                 package manager is removed (see below)
#   (final)       runtime-root flattened into one layer, non-root, read-only
#
# APT_PROXY: optional http proxy for apt inside the build, e.g.
# --build-arg APT_PROXY=http://proxy:3142; empty means apt connects
# directly, as it does on most hosts.
ARG DEBIAN_IMAGE=debian:bookworm-slim

FROM ${DEBIAN_IMAGE} AS build
ARG APT_PROXY=
ENV DEBIAN_FRONTEND=noninteractive
RUN set -eux; \
    if [ -n "$APT_PROXY" ]; then \
        echo "Acquire::http::Proxy \"$APT_PROXY\";" > /etc/apt/apt.conf.d/01proxy; \
    fi; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
        build-essential pkg-config \
        libcivetweb-dev libsqlite3-dev libmongoc-dev libbson-dev libcjson-dev; \
    rm -rf /var/lib/apt/lists/* /etc/apt/apt.conf.d/01proxy
WORKDIR /src
COPY . .
# No .git in the context: the revision comes in as a build argument. An
# empty VERSION keeps the Makefile's.
ARG VERSION=
ARG REVISION=unknown
RUN set -eux; \
    make -j"$(nproc)" BUILD=/tmp/build ${VERSION:+VERSION="$VERSION"} REVISION="$REVISION" all; \
    make BUILD=/tmp/build ${VERSION:+VERSION="$VERSION"} REVISION="$REVISION" \
        install PREFIX=/usr/local DESTDIR=/out; \
    test -x /out/usr/local/bin/guestbookd; \
    ls /out/usr/local/lib/guestbook/*.so; \
    test -d /out/usr/local/share/guestbook/www

FROM ${DEBIAN_IMAGE} AS runtime-root
ARG APT_PROXY=
ENV DEBIAN_FRONTEND=noninteractive
RUN set -eux; \
    if [ -n "$APT_PROXY" ]; then \
        echo "Acquire::http::Proxy \"$APT_PROXY\";" > /etc/apt/apt.conf.d/01proxy; \
    fi; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
        libcivetweb1 libsqlite3-0 libmongoc-1.0-0 libbson-1.0-0 libcjson1; \
    rm -rf /var/lib/apt/lists/* /etc/apt/apt.conf.d/01proxy
COPY --from=build /out/ /
RUN set -eux; \
    groupadd --gid 10001 guestbook; \
    useradd --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/guestbook \
        --shell /usr/sbin/nologin guestbook; \
    install -d -o 10001 -g 10001 -m 0750 /var/lib/guestbook; \
    ldconfig; \
    if ldd /usr/local/bin/guestbookd /usr/local/lib/guestbook/*.so | grep 'not found'; then \
        echo "a shared library is missing from the runtime image" >&2; exit 1; \
    fi
# The container never installs packages (it runs read-only and as a
# non-root user), so apt and perl, which only the package manager needs,
# are removed: with libmongoc's libicu the image would otherwise be about
# 125 MB. dpkg and its database stay, so scanners still see every package.
RUN set -eux; \
    dpkg --purge --force-remove-essential --force-depends apt libapt-pkg6.0 perl-base; \
    rm -rf /var/cache/apt /var/cache/debconf/*-old /var/lib/dpkg/*-old /var/log/* \
        /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/locale/*; \
    if ldd /usr/local/bin/guestbookd /usr/local/lib/guestbook/*.so | grep 'not found'; then \
        echo "pruning removed a shared library the application needs" >&2; exit 1; \
    fi

FROM scratch
COPY --from=runtime-root / /
ARG VERSION=
ARG REVISION=unknown
ARG CREATED=
LABEL org.opencontainers.image.title="guestbookd" \
      org.opencontainers.image.description="Guestbook web application and API: a civetweb server with route, storage and metrics plugins" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim" \
      org.opencontainers.image.documentation="deploy/README.md"
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PORT=8080 \
    GUESTBOOK_SQLITE_PATH=/var/lib/guestbook/guestbook.db \
    GUESTBOOK_LOG_FORMAT=json
USER 10001:10001
WORKDIR /var/lib/guestbook
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["guestbookd", "--probe", "/health"]
ENTRYPOINT ["guestbookd"]
