"""Rows 3, 4 and 10 of the edge table, direct: the body's framing is
exactly one plain Content-Length (RFC 9112 6.3); a request refused before
its body is read is answered at once and the connection closed without
draining the body; Expect: 100-continue gets 100 Continue only when the
body will be read."""

import time

import gbdirect as d
import gbhostile as gb


class Framing(d.DirectCase):
    def smuggling_post(self, framing):
        """A POST of a message whose body is a second complete POST, with
        the given framing lines."""
        inner = d.raw_post("/api/v1/messages", d.MESSAGE)
        return (b"POST /api/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\n" +
                b"".join(l + b"\r\n" for l in framing) + b"\r\n" + inner)

    def test_malformed_or_conflicting_framing_is_400_and_close(self):
        n = len(d.raw_post("/api/v1/messages", d.MESSAGE))
        cases = [
            [b"Content-Length: %d" % n, b"Transfer-Encoding: chunked"],
            [b"Transfer-Encoding: chunked", b"Content-Length: %d" % n],
            [b"Content-Length: %d" % n, b"Content-Length: %d" % n],
            [b"Content-Length: 0", b"Content-Length: %d" % n],
            [b"Content-Length: +%d" % n], [b"Content-Length: -%d" % n],
            [b"Content-Length: 0x%x" % n], [b"Content-Length: %dabc" % n],
            [b"Content-Length: %d, %d" % (n, n)],
            [b"Content-Length: 1%s" % (b"0" * 20)],
            [b"Transfer-Encoding: identity", b"Content-Length: %d" % n],
            [b"Transfer-Encoding: chunked, chunked"],
            [b"Transfer-Encoding: gzip"],
        ]
        for framing in cases:
            st, _, body = self.one_response(self.smuggling_post(framing))
            self.assertEqual(st, 400, (framing, body))
        self.assert_intact()

    def test_chunked_body_is_411(self):
        raw = (b"POST /api/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
               b"Content-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n"
               % (len(d.MESSAGE), d.MESSAGE))
        st, _, body = self.one_response(raw)
        self.assertEqual(st, 411, body)
        self.assert_intact()

    def test_body_after_413_is_not_drained(self):
        head = (b"POST /api/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\n"
                b"Content-Length: 20000000000\r\n\r\n")
        sent, stopped, data = d.send_head_then_body(self.addr, head,
                                                    20 * 10**9, 5.0)
        resp, rest = gb.parse_responses(data)
        self.assertEqual([r[0] for r in resp], [413])
        self.assertEqual(rest, b"")
        # what loopback socket buffers hold, not the declared 20 GB
        self.assertLess(sent, 64 << 20, "the server drained the body")
        self.assertLess(stopped, 2.0)
        self.assert_intact()

    def test_trickle_after_413_is_closed_at_once(self):
        s = gb.connect(self.addr)
        try:
            t0 = time.monotonic()
            s.sendall(b"POST /api/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
                      b"Content-Length: 1000000\r\n\r\nx")
            data, closed = gb.read_until_close(s, 3.0)
            took = time.monotonic() - t0
        finally:
            s.close()
        resp, rest = gb.parse_responses(data)
        self.assertEqual([r[0] for r in resp], [413])
        self.assertTrue(closed)
        self.assertLess(took, 1.0)
        self.assert_intact()

    def test_every_refusal_with_a_body_left_closes_without_draining(self):
        heads = {
            404: b"POST /nope HTTP/1.1\r\nHost: localhost\r\n",
            405: b"PUT /api/v1/messages HTTP/1.1\r\nHost: localhost\r\n",
            403: b"POST /api/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
                 b"Origin: https://evil.example\r\n",
            400: b"POST /api/v1/mess%00ages HTTP/1.1\r\nHost: localhost\r\n",
        }
        for status, head in heads.items():
            head += b"Content-Length: 1000000000\r\n\r\n"
            sent, stopped, data = d.send_head_then_body(self.addr, head,
                                                        10**9, 3.0)
            resp, _ = gb.parse_responses(data)
            self.assertEqual([r[0] for r in resp], [status], head)
            self.assertEqual(resp[0][1].get("connection"), "close")
            self.assertLess(sent, 64 << 20, head)
        self.assert_intact()

    def test_short_body_is_never_handled(self):
        # fewer bytes than declared, then silence: 408, nothing stored
        raw = (b"POST /api/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
               b"Content-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % (len(d.MESSAGE) + 10) +
               d.MESSAGE)
        st, _, body = self.one_response(raw, timeout=15.0)
        self.assertEqual(st, 408, body)
        self.assert_intact()

    def test_expect_100_continue_when_the_body_will_be_read(self):
        s = gb.connect(self.addr)
        try:
            s.sendall(b"POST /api/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
                      b"Content-Type: application/json\r\n"
                      b"Expect: 100-continue\r\nConnection: close\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(d.MESSAGE))
            s.settimeout(1.0)
            interim = s.recv(4096)
            self.assertEqual(interim, b"HTTP/1.1 100 Continue\r\n\r\n")
            s.sendall(d.MESSAGE)
            data, closed = gb.read_until_close(s, 5.0)
        finally:
            s.close()
        self.assert_created(data)
        self.assert_intact()

    def test_expect_gets_the_final_status_at_once_when_not_read(self):
        for status, head in (
                (413, b"POST /api/v1/messages HTTP/1.1\r\n"
                      b"Content-Length: 100000\r\n"),
                (404, b"POST /nope HTTP/1.1\r\nContent-Length: 10\r\n"),
                (403, b"POST /post HTTP/1.1\r\nContent-Length: 10\r\n"
                      b"Sec-Fetch-Site: cross-site\r\n"),
                (417, b"POST /api/v1/messages HTTP/1.1\r\n"
                      b"Content-Length: 10\r\nX-Pad: 1\r\n")):
            expect = b"Expect: 100-continue\r\n"
            if status == 417:
                expect = b"Expect: 200-ok\r\n"
            t0 = time.monotonic()
            st, _, _ = self.one_response(head + b"Host: localhost\r\n" +
                                         expect + b"\r\n", timeout=3.0)
            self.assertEqual(st, status)
            self.assertLess(time.monotonic() - t0, 1.0)
        self.assert_intact()


if __name__ == "__main__":
    import unittest
    unittest.main()
