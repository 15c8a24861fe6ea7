"""Helpers for the hostile-client suite: the real guestbookd, the real nginx
edge rendered from deploy/edge/nginx.conf.template, raw sockets, and the
legitimate-client probe loop.

Everything binds 127.0.0.1 on free ports; every wait is bounded.
"""

import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

BUILD = os.environ.get("GB_BUILD_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build")
SRC = os.environ.get("GB_SRC_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..")
BUILD = os.path.abspath(BUILD)
SRC = os.path.abspath(SRC)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def server_command(db, threads=None):
    cmd = [os.path.join(BUILD, "guestbookd"), "--role", "all",
           "--listen", "127.0.0.1:0",
           "--plugin-dir", os.path.join(BUILD, "plugins"),
           "--www-dir", os.path.join(SRC, "www"),
           "--sqlite-path", db, "--drain-seconds", "0",
           "--log-format", "json"]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    return cmd


def start_fails(db, *args, timeout=10.0):
    """Starts guestbookd on `db` expecting it to refuse. Returns (exit
    status, output); fails if it ran for `timeout` seconds."""
    try:
        p = subprocess.run(server_command(db) + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("guestbookd on %s did not refuse to start" % db)
    return p.returncode, p.stdout.decode("utf-8", "replace")


class Server:
    """guestbookd role all on SQLite in a temporary directory."""

    def __init__(self, *args, env=None, threads=None, db=None):
        """`db`: the SQLite file (default: guestbook.db in the server's
        own temporary directory, which also holds the log)."""
        self.dir = tempfile.mkdtemp(prefix="gb-hostile.")
        self.db = db or os.path.join(self.dir, "guestbook.db")
        self.log_path = os.path.join(self.dir, "server.log")
        cmd = server_command(self.db, threads) + list(args)
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=full_env)
        self.port = self._wait_ready()

    def _wait_ready(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        pat = re.compile(rb'"msg":"ready: .* listen=[^ ]*:([0-9]+)')
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as f:
                m = pat.search(f.read())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise AssertionError("guestbookd did not get ready:\n" +
                             self.log_text())

    @property
    def addr(self):
        return ("127.0.0.1", self.port)

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_lines(self):
        out = []
        for line in self.log_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=20.0):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
        return self.proc.returncode

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Edge:
    """Debian's nginx with deploy/edge/nginx.conf.template rendered by
    envsubst, in front of `upstream` ("host:port")."""

    def __init__(self, upstream):
        self.dir = tempfile.mkdtemp(prefix="gb-edge.")
        self.port = free_port()
        env = dict(os.environ, LISTEN="127.0.0.1:%d" % self.port,
                   UPSTREAM=upstream, EDGE_DIR=self.dir)
        tmpl = os.path.join(SRC, "deploy", "edge", "nginx.conf.template")
        with open(tmpl, "rb") as f:
            rendered = subprocess.run(
                ["envsubst", "${LISTEN} ${UPSTREAM} ${EDGE_DIR}"], input=f.read(),
                stdout=subprocess.PIPE, check=True, env=env).stdout
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "wb") as f:
            f.write(rendered)
        # Run as root, nginx's workers run as nobody: they must reach the
        # temp directories nginx creates (and chowns) in EDGE_DIR.
        os.chmod(self.dir, 0o711)
        self.proc = subprocess.Popen(
            ["nginx", "-p", self.dir, "-e", os.path.join(self.dir, "error.log"),
             "-c", self.conf, "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise AssertionError("nginx did not start: " +
                                         self.proc.stderr.read().decode())
                time.sleep(0.05)
        raise AssertionError("nginx did not listen on %d" % self.port)

    @property
    def addr(self):
        return ("127.0.0.1", self.port)

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for(cond, timeout=3.0, step=0.05):
    """Polls cond() until it returns a true value (returned) or timeout
    passes (then the last value)."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def access_lines(server, method=None, at_least=0, timeout=3.0):
    """The server's access log lines (optionally of one method), once
    there are at least `at_least` of them or `timeout` passed: a line is
    written after its response is sent."""
    def lines():
        return [l for l in server.log_lines()
                if l.get("logger") == "access" and
                (method is None or l.get("method") == method)]
    got = lines()
    if at_least:
        got = wait_for(lambda: len(lines()) >= at_least and lines(),
                       timeout) or lines()
    return got


def connect(addr, timeout=5.0):
    s = socket.create_connection(addr, timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_until_close(sock, timeout=5.0, limit=1 << 22):
    """Everything the peer sends until it closes or `timeout` passes.
    Returns (bytes, closed)."""
    deadline = time.monotonic() + timeout
    buf = b""
    while len(buf) < limit:
        left = deadline - time.monotonic()
        if left <= 0:
            return buf, False
        # poll, not select: a crowd test holds descriptors above 1024.
        p = select.poll()
        p.register(sock, select.POLLIN)
        if not p.poll(left * 1000):
            return buf, False
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return buf, True
        if not chunk:
            return buf, True
        buf += chunk
    return buf, False


def parse_responses(data):
    """Splits bytes into HTTP/1.1 responses framed by Content-Length.
    Returns a list of (status, headers dict lower-cased, body) and the
    unparsed rest."""
    out = []
    while True:
        end = data.find(b"\r\n\r\n")
        if end < 0 or not data.startswith(b"HTTP/1."):
            return out, data
        head = data[:end].decode("latin-1").split("\r\n")
        status = int(head[0].split(" ")[1])
        headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers.setdefault(k.strip().lower(), v.strip())
        n = int(headers.get("content-length", "0"))
        body = data[end + 4:end + 4 + n]
        if len(body) < n:
            return out, data
        out.append((status, headers, body))
        data = data[end + 4 + n:]


def exchange(addr, raw, timeout=5.0):
    """Sends raw bytes on a new connection, reads until the server closes
    (or timeout). Returns (responses, rest, closed)."""
    s = connect(addr, timeout)
    try:
        s.sendall(raw)
        data, closed = read_until_close(s, timeout)
    finally:
        s.close()
    resp, rest = parse_responses(data)
    return resp, rest, closed


def request(addr, method, path, body=None, headers=None, timeout=5.0):
    """One request on its own connection (Connection: close). Returns
    (status, headers, body) or raises on no answer."""
    h = {"Host": "localhost", "Connection": "close"}
    h.update(headers or {})
    if body is not None:
        if isinstance(body, str):
            body = body.encode()
        h.setdefault("Content-Length", str(len(body)))
    raw = "%s %s HTTP/1.1\r\n" % (method, path)
    raw += "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
    resp, rest, _ = exchange(addr, raw.encode("latin-1") + (body or b""),
                             timeout)
    if not resp:
        raise AssertionError("no answer to %s %s (got %r)" %
                             (method, path, rest[:200]))
    return resp[0]


def post_message(addr, author, message, headers=None):
    body = json.dumps({"author": author, "message": message})
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return request(addr, "POST", "/api/v1/messages", body, h)


def stored_messages(addr):
    """Every message the server holds, through the v1 API."""
    out, cursor = [], None
    for _ in range(1000):
        path = "/api/v1/messages?limit=100"
        if cursor:
            path += "&cursor=" + cursor
        st, _, body = request(addr, "GET", path)
        assert st == 200, (st, body)
        page = json.loads(body)
        out += page["messages"]
        cursor = page.get("next_cursor")
        if not cursor:
            return out
    raise AssertionError("more than 1000 pages")


class Prober(threading.Thread):
    """The legitimate client: GET /health and GET / every `interval`
    seconds, each on a new connection, recording the latency of each (or
    None when no answer came within `timeout`)."""

    def __init__(self, addr, interval=0.5, timeout=5.0):
        super().__init__(daemon=True)
        self.addr, self.interval, self.timeout = addr, interval, timeout
        self.samples = []
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            for path in ("/health", "/"):
                t0 = time.monotonic()
                try:
                    st, _, _ = request(self.addr, "GET", path,
                                       timeout=self.timeout)
                    ok = st == 200
                except (OSError, AssertionError):
                    ok = False
                self.samples.append((path, ok, time.monotonic() - t0))
            self._halt.wait(self.interval)

    def finish(self):
        self._halt.set()
        self.join(self.timeout * 2 + 1)
        return self.samples

    def assert_served(self, testcase, limit=1.0, min_samples=4):
        samples = self.finish()
        testcase.assertGreaterEqual(len(samples), min_samples,
                                    "the probe ran too few times")
        bad = [s for s in samples if not s[1] or s[2] >= limit]
        testcase.assertEqual(bad, [], "probes failed or took >= %.1f s "
                             "(%d of %d)" % (limit, len(bad), len(samples)))
        return max(s[2] for s in samples)


def raise_nofile(need=8192):
    """Raises this process's descriptor limit to the hard limit; fails the
    test when even that is below `need`."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard != resource.RLIM_INFINITY and hard < need:
        raise AssertionError("RLIMIT_NOFILE hard limit %d < %d" % (hard, need))


def client_ip(group, i):
    """A loopback source address for crowd member i of `group` (1..250):
    127.group.(i // 250).(i % 250 + 1). Linux answers all of 127/8, so
    each address is a distinct client to the edge's per-client limits,
    and none is 127.0.0.1, the probe loop's."""
    return "127.%d.%d.%d" % (group, i // 250, i % 250 + 1)


def connect_from(addr, src, timeout=5.0):
    """A connection to addr from source address src."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.bind((src, 0))
        s.connect(addr)
    except OSError:
        s.close()
        raise
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def open_crowd(addr, n, group, per_client, first_bytes=b"", deadline_s=20.0):
    """n connections to addr, per_client of them from each source address
    of `group`, each sent `first_bytes`. Returns the sockets."""
    socks = []
    t_end = time.monotonic() + deadline_s
    try:
        for i in range(n):
            if time.monotonic() > t_end:
                raise AssertionError("only %d of %d connections opened "
                                     "in %.0f s" % (i, n, deadline_s))
            s = connect_from(addr, client_ip(group, i // per_client))
            if first_bytes:
                s.sendall(first_bytes)
            socks.append(s)
    except BaseException:
        close_all(socks)
        raise
    return socks


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def metric_value(text, name, labels=None):
    """The value of one series in Prometheus text, or None."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, _, value = line.rpartition(" ")
        if series != name and not series.startswith(name + "{"):
            continue
        if all('%s="%s"' % kv in series for kv in (labels or {}).items()):
            return float(value)
    return None


class SmallDisk:
    """A tmpfs of `size` (e.g. "4m") mounted on a new temporary directory:
    a disk that really fills up. Mounting needs root (or sudo without a
    password), as the rest of make test's set-up does."""

    def __init__(self, size):
        self.dir = tempfile.mkdtemp(prefix="gb-disk.")
        sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        self.umount_cmd = sudo + ["umount", self.dir]
        r = subprocess.run(sudo + ["mount", "-t", "tmpfs", "-o",
                                   "size=%s,mode=0777" % size, "tmpfs",
                                   self.dir],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            os.rmdir(self.dir)
            raise AssertionError("cannot mount a tmpfs (root or sudo -n "
                                 "needed): " + r.stdout.decode())

    def path(self, name):
        return os.path.join(self.dir, name)

    def fill(self):
        """Writes a file until the disk is full; returns its path."""
        filler = self.path("filler")
        with open(filler, "wb") as f:
            block = b"\0" * 65536
            for _ in range(1 << 16):
                try:
                    f.write(block)
                    f.flush()
                except OSError:
                    break
            else:
                raise AssertionError("the disk did not fill up")
        # The last partial write may have left a page or two.
        with open(filler, "ab", buffering=0) as f:
            for _ in range(64):
                try:
                    f.write(b"\0" * 512)
                except OSError:
                    break
        return filler

    def cleanup(self):
        subprocess.run(self.umount_cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        try:
            os.rmdir(self.dir)
        except OSError:
            pass
