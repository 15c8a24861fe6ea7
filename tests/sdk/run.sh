#!/usr/bin/env bash
# The installed SDK, as a plugin author meets it: `make install DESTDIR=`,
# then plugins/example/example.c copied to a directory outside the tree and
# built with nothing but the installed header and pkg-config, loaded into
# the installed guestbookd and asked for its greeting. Also the installed
# man page (man -l and groff -ww, no warnings) and the systemd unit
# (systemd-analyze verify). Prints "N passed, N failed"; exit 1 on a
# failure. Needs GB_SRC_DIR (the tree) and GB_BUILD_DIR (its build).
set -uo pipefail

SRC=${GB_SRC_DIR:?GB_SRC_DIR is the source tree}
BUILD=${GB_BUILD_DIR:?GB_BUILD_DIR is the build directory}
PREFIX=/usr/local
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gbsdk-XXXXXX")
DEST=$TMP/root
SERVER_PID=
passed=0 failed=0

cleanup() {
	[[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	[[ ${GB_KEEP_TEST_DIRS:-0} == 1 ]] || rm -rf "$TMP"
}
trap cleanup EXIT

ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; shift; printf '     %s\n' "$@"; failed=$((failed + 1)); }

# ---- install ------------------------------------------------------------
if make -s -C "$SRC" BUILD="$BUILD" PREFIX=$PREFIX DESTDIR="$DEST" install >"$TMP/install.log" 2>&1; then
	ok "make install DESTDIR"
else
	fail "make install DESTDIR" "$(tail -5 "$TMP/install.log")"
	echo "$passed passed, $((failed)) failed"
	exit 1
fi
for f in bin/guestbookd include/guestbook/plugin.h include/guestbook/utf8.h \
	lib/pkgconfig/guestbook-plugin.pc share/man/man8/guestbookd.8 \
	lib/systemd/system/guestbookd.service lib/guestbook/sqlite.so; do
	if [[ -f $DEST$PREFIX/$f ]]; then ok "installed $f"; else fail "installed $f" "missing"; fi
done

# ---- pkg-config: only the installed files -------------------------------
pc() {
	PKG_CONFIG_PATH=$DEST$PREFIX/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$DEST \
		pkg-config "$@" guestbook-plugin
}
CFLAGS=$(pc --cflags) && LIBS=$(pc --libs) && ok "pkg-config --cflags --libs" ||
	fail "pkg-config --cflags --libs" "$(pc --cflags 2>&1)"
case " $CFLAGS " in
*" -I$DEST$PREFIX/include "*) ok "cflags name the installed include directory" ;;
*) fail "cflags name the installed include directory" "$CFLAGS" ;;
esac
case "$CFLAGS $LIBS" in
*"$SRC"*) fail "flags do not point into the source tree" "$CFLAGS $LIBS" ;;
*) ok "flags do not point into the source tree" ;;
esac
abi=$(sed -n 's/^#define GB_ABI_MAJOR \([0-9]*\)$/\1/p' "$SRC/core/include/guestbook/plugin.h").$(sed -n 's/^#define GB_ABI_MINOR \([0-9]*\)$/\1/p' "$SRC/core/include/guestbook/plugin.h")
[[ $(pc --modversion) == "$abi" ]] && ok "version is the ABI $abi" ||
	fail "version is the ABI $abi" "$(pc --modversion)"
PLUGINDIR=$(pc --variable=plugindir)
[[ $PLUGINDIR == "$DEST$PREFIX/lib/guestbook" ]] && ok "plugindir variable" ||
	fail "plugindir variable" "$PLUGINDIR"

# ---- the example, built outside the tree --------------------------------
mkdir -p "$TMP/author"
cp "$SRC/plugins/example/example.c" "$TMP/author/hello.c"
if (cd "$TMP/author" && cc -std=c11 -Wall -Wextra -Werror -O2 -fPIC \
	-fvisibility=hidden -shared $CFLAGS -o hello.so hello.c $LIBS) >"$TMP/cc.log" 2>&1; then
	ok "example.c builds with the installed SDK alone"
else
	fail "example.c builds with the installed SDK alone" "$(head -5 "$TMP/cc.log")"
fi
exports=$(nm -D --defined-only "$TMP/author/hello.so" 2>/dev/null | awk '$2 ~ /[TDRB]/ {print $3}')
[[ $exports == gb_plugin_descriptor ]] && ok "only the descriptor is exported" ||
	fail "only the descriptor is exported" "$exports"
install -m 0644 "$TMP/author/hello.so" "$PLUGINDIR/hello.so"

# ---- loaded into the installed guestbookd --------------------------------
GB=$DEST$PREFIX/bin/guestbookd
GUESTBOOK_EXAMPLE_GREETING=Bonjour "$GB" --listen 127.0.0.1:0 \
	--plugin-dir "$PLUGINDIR" --www-dir "$DEST$PREFIX/share/guestbook/www" \
	--sqlite-path "$TMP/guestbook.db" --plugins +hello --drain-seconds 0 \
	--log-format json >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
port=
for _ in $(seq 100); do
	port=$(sed -n 's/.*"msg":"ready: .*"listen":"127\.0\.0\.1:\([0-9]*\)".*/\1/p' "$TMP/server.log")
	[[ -z $port ]] && port=$(sed -n 's/.*"msg":"ready: .* listen=127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$TMP/server.log")
	[[ -n $port ]] && break
	kill -0 $SERVER_PID 2>/dev/null || break
	sleep 0.1
done
if [[ -n $port ]]; then
	ok "installed guestbookd starts with the plugin"
	body=$(curl -s --max-time 5 "http://127.0.0.1:$port/api/v1/hello?name=Ada")
	[[ $body == '{"message":"Bonjour, Ada!","count":1}' ]] &&
		ok "GUESTBOOK_EXAMPLE_GREETING=Bonjour: GET /api/v1/hello answers Bonjour" ||
		fail "GUESTBOOK_EXAMPLE_GREETING=Bonjour: GET /api/v1/hello answers Bonjour" "$body"
	metrics=$(curl -s --max-time 5 "http://127.0.0.1:$port/metrics")
	grep -q '^guestbook_example_greetings_total 1$' <<<"$metrics" &&
		ok "its metric is exported" || fail "its metric is exported" "$(grep example <<<"$metrics")"
	code=$(curl -s -o /dev/null -w '%{http_code} %header{allow}' -X DELETE --max-time 5 "http://127.0.0.1:$port/api/v1/hello")
	[[ $code == "405 GET, HEAD" ]] && ok "DELETE is 405 with Allow: GET, HEAD" ||
		fail "DELETE is 405 with Allow: GET, HEAD" "$code"
else
	fail "installed guestbookd starts with the plugin" "$(tail -5 "$TMP/server.log")"
fi
kill $SERVER_PID 2>/dev/null
wait $SERVER_PID 2>/dev/null
SERVER_PID=
help=$("$GB" --help --plugin-dir "$PLUGINDIR" --plugins +hello 2>&1)
grep -q -- '--example-greeting .*GUESTBOOK_EXAMPLE_GREETING .*Hello' <<<"$help" &&
	ok "--help lists the plugin's greeting setting" ||
	fail "--help lists the plugin's greeting setting" "$(grep -i example <<<"$help")"

# ---- man page and unit ---------------------------------------------------
MAN=$DEST$PREFIX/share/man/man8/guestbookd.8
warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 "$MAN" 2>&1 >/dev/null)
[[ -z $warn ]] && ok "man -l renders guestbookd(8) without warnings" ||
	fail "man -l renders guestbookd(8) without warnings" "$warn"
warn=$(groff -ww -man -Tutf8 "$MAN" 2>&1 >/dev/null)
[[ -z $warn ]] && ok "groff -ww -man: no warnings" || fail "groff -ww -man: no warnings" "$warn"
grep -q "$PREFIX/lib/guestbook" "$MAN" && ! grep -q '@[A-Z_]*@' "$MAN" &&
	ok "man page carries the installed paths" || fail "man page carries the installed paths" "$(grep -n '@' "$MAN")"

UNIT=$DEST$PREFIX/lib/systemd/system/guestbookd.service
if command -v systemd-analyze >/dev/null; then
	# The unit as installed, its ExecStart pointed at the DESTDIR binary
	# (verify checks that the program exists); man pages are checked above.
	sed "s|^ExecStart=$PREFIX/|ExecStart=$DEST$PREFIX/|" "$UNIT" >"$TMP/guestbookd.service"
	out=$(systemd-analyze verify --man=no "$TMP/guestbookd.service" 2>&1)
	[[ -z $out ]] && ok "systemd-analyze verify guestbookd.service" ||
		fail "systemd-analyze verify guestbookd.service" "$out"
else
	fail "systemd-analyze verify guestbookd.service" "systemd-analyze not found (scripts/install-deps.sh test installs systemd)"
fi
for k in DynamicUser=yes StateDirectory=guestbookd ProtectSystem=strict NoNewPrivileges=yes; do
	grep -qx "$k" "$UNIT" && ok "unit has $k" || fail "unit has $k" "missing"
done

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
