"""What the edge passes on and what it keeps out: X-Forwarded-For for
trust_proxy, no /metrics or /ready, 413 above 16 KiB before guestbookd
reads a byte, whole bodies only, per-client limits."""

import json
import time
import unittest

import gbhostile as gb

METRICS_SPELLINGS = ["/metrics", "//metrics", "/%6detrics", "/metrics?x=1",
                     "/./metrics", "/metrics/", "/static/../metrics",
                     "/api/../metrics", "/ready", "/%72eady", "//ready"]


def post_from(edge, src, author, message, headers=None):
    body = json.dumps({"author": author, "message": message}).encode()
    h = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
    raw = ("POST /api/v1/messages HTTP/1.1\r\nHost: x\r\n"
           "Content-Type: application/json\r\nContent-Length: %d\r\n%s"
           "Connection: close\r\n\r\n" % (len(body), h)).encode() + body
    s = gb.connect_from(edge.addr, src)
    try:
        s.sendall(raw)
        data, _ = gb.read_until_close(s)
    finally:
        s.close()
    resp, _ = gb.parse_responses(data)
    assert resp, "no answer from the edge: %r" % data[:200]
    return resp[0]


class EdgeForwarding(unittest.TestCase):
    def start(self, *args):
        self.srv = gb.Server(*args)
        self.addCleanup(self.srv.cleanup)
        self.edge = gb.Edge("127.0.0.1:%d" % self.srv.port)
        self.addCleanup(self.edge.cleanup)

    def test_forwarded_for_lets_trust_proxy_limit_the_real_client(self):
        # 6 posts a minute: a burst of 3, then 429 from guestbookd.
        self.start("--trust-proxy", "on", "--rate-limit", "6")
        statuses = []
        for i in range(6):
            # A forged X-Forwarded-For does not make a new client: the
            # edge appends the real address, guestbookd reads the last.
            st, _, body = post_from(self.edge, "127.20.0.1", "a", "m%d" % i,
                                    {"X-Forwarded-For": "10.9.%d.1" % i})
            statuses.append(st)
            if st == 429:
                self.assertEqual(json.loads(body)["error"]["code"],
                                 "rate_limited", "guestbookd's 429")
        self.assertEqual(statuses, [201] * 3 + [429] * 3)
        # Another client is not limited by the first one's posts.
        st, _, body = post_from(self.edge, "127.20.0.2", "b", "other")
        self.assertEqual(st, 201, body)
        remotes = {l["remote"] for l in
                   gb.access_lines(self.srv, "POST", at_least=7)}
        self.assertEqual(remotes, {"127.20.0.1", "127.20.0.2"})
        stored = gb.stored_messages(self.srv.addr)
        self.assertEqual(sorted(m["message"] for m in stored),
                         ["m0", "m1", "m2", "other"])

    def test_metrics_and_ready_are_not_routed(self):
        self.start()
        st, _, body = gb.request(self.srv.addr, "GET", "/metrics")
        self.assertEqual(st, 200, "guestbookd itself serves /metrics")
        for path in METRICS_SPELLINGS:
            st, _, body = gb.request(self.edge.addr, "GET", path)
            self.assertIn(st, (400, 403, 404), path)
            self.assertNotIn(b"http_requests_total", body, path)
            self.assertNotIn(b"checks", body, path)
        st, _, _ = gb.request(self.edge.addr, "GET", "/health")
        self.assertEqual(st, 200)
        reached = [l["path"] for l in gb.access_lines(self.srv, at_least=2)]
        self.assertNotIn("/ready", reached)
        self.assertEqual([p for p in reached if "metrics" in p],
                         ["/metrics"], "only the direct request")

    def test_body_over_16_kib_is_413_at_the_edge(self):
        self.start()
        msg = "x" * (16 * 1024)
        body = json.dumps({"author": "big", "message": msg})
        st, _, _ = gb.request(self.edge.addr, "POST", "/api/v1/messages",
                              body, {"Content-Type": "application/json"})
        self.assertEqual(st, 413)
        # Chunked, so no Content-Length warns the edge in advance.
        chunk = body.encode()
        raw = (b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
               b"%x\r\n" % len(chunk) + chunk + b"\r\n0\r\n\r\n")
        resp, _, _ = gb.exchange(self.edge.addr, raw)
        self.assertEqual([r[0] for r in resp], [413])
        # Exactly 16 KiB passes the edge (and guestbookd judges it).
        exact = json.dumps({"author": "a", "message": "y" * 900})
        exact += " " * (16 * 1024 - len(exact))
        st, _, b = gb.request(self.edge.addr, "POST", "/api/v1/messages",
                              exact, {"Content-Type": "application/json"})
        self.assertEqual(st, 201, b)
        posts = gb.access_lines(self.srv, "POST", at_least=1)
        time.sleep(0.2)
        posts = gb.access_lines(self.srv, "POST")
        self.assertEqual(len(posts), 1, "nothing above 16 KiB reached "
                         "guestbookd: %r" % posts)
        self.assertEqual(len(gb.stored_messages(self.srv.addr)), 1)

    def test_a_slow_body_reaches_guestbookd_only_when_complete(self):
        self.start()
        body = json.dumps({"author": "slow", "message": "but whole"}).encode()
        s = gb.connect(self.edge.addr)
        self.addCleanup(s.close)
        s.sendall(b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\n"
                  b"Content-Length: %d\r\nConnection: close\r\n\r\n" %
                  len(body))
        for i in range(0, len(body), 8):
            s.sendall(body[i:i + 8])
            time.sleep(0.1)
            if i + 8 < len(body):
                self.assertEqual(gb.access_lines(self.srv, "POST"), [],
                                 "guestbookd saw the request before its "
                                 "body was complete")
        data, _ = gb.read_until_close(s)
        resp, _ = gb.parse_responses(data)
        self.assertEqual([r[0] for r in resp], [201])
        posts = gb.access_lines(self.srv, "POST", at_least=1)
        self.assertLess(posts[0]["duration_ms"], 100,
                        "guestbookd got the body in one piece")

    def test_posts_are_rate_limited_per_client_at_the_edge(self):
        self.start("--trust-proxy", "on", "--rate-limit", "0")
        statuses = [post_from(self.edge, "127.21.0.1", "f", "m%d" % i)[0]
                    for i in range(40)]
        # A burst of 20 and 5 a second pass; a flood does not.
        self.assertGreaterEqual(statuses.count(201), 20)
        self.assertGreater(statuses.count(429), 0, statuses)
        self.assertEqual(set(statuses), {201, 429})
        stored = gb.stored_messages(self.srv.addr)
        self.assertEqual(len(stored), statuses.count(201),
                         "every 201 stored, no 429 stored")
        # Reads are not limited, and another client may still post.
        for _ in range(40):
            st, _, _ = gb.request(self.edge.addr, "GET", "/api/v1/messages")
            self.assertEqual(st, 200)
        self.assertEqual(post_from(self.edge, "127.21.0.2", "g", "ok")[0],
                         201)

    def test_connections_are_limited_per_client(self):
        self.start()
        # 64 requests in progress from one address (GETs, which the post
        # rate limit leaves alone, with a body that never ends): the 65th
        # is refused.
        head = (b"GET /api/v1/messages HTTP/1.1\r\nHost: x\r\n"
                b"Content-Length: 50\r\n\r\n{")
        held = gb.open_crowd(self.edge.addr, 64, 22, 64, head)
        self.addCleanup(gb.close_all, held)
        time.sleep(0.3)
        s = gb.connect_from(self.edge.addr, gb.client_ip(22, 0))
        self.addCleanup(s.close)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
        data, _ = gb.read_until_close(s)
        resp, _ = gb.parse_responses(data)
        self.assertEqual([r[0] for r in resp], [429])
        # Another address is served.
        s2 = gb.connect_from(self.edge.addr, gb.client_ip(22, 1))
        self.addCleanup(s2.close)
        s2.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n"
                   b"Connection: close\r\n\r\n")
        data, _ = gb.read_until_close(s2)
        self.assertEqual([r[0] for r in gb.parse_responses(data)[0]], [200])


if __name__ == "__main__":
    unittest.main()
