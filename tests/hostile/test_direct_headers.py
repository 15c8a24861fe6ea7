"""Rows 1, 2 and 13 of the edge table, direct: the header block civetweb
parsed is taken only when civetweb read all of it. Past its 64-field limit
the rest would be dropped (Content-Length among them) and the body read as
a second request; an obs-fold line stops its parser the same way."""

import json

import gbdirect as d
import gbhostile as gb


class HeaderBlock(d.DirectCase):
    def smuggle_after(self, lines):
        """A POST whose Content-Length comes after `lines`, with a body
        that is itself a complete POST of a message."""
        inner = d.raw_post("/api/v1/messages", d.MESSAGE)
        return (b"POST /api/v1/messages HTTP/1.1\r\nHost: localhost\r\n" +
                b"".join(l + b"\r\n" for l in lines) +
                b"Content-Type: application/json\r\n" +
                b"Content-Length: %d\r\n\r\n" % len(inner) + inner)

    def test_64_or_more_fields_is_431_and_close(self):
        for count in (62, 63, 70, 200):
            lines = [b"X-Filler-%d: v" % i for i in range(count)]
            st, _, body = self.one_response(self.smuggle_after(lines))
            self.assertEqual(st, 431, (count, body))
            self.assertEqual(json.loads(body)["error"]["code"],
                             "too_many_headers")
        self.assert_intact()

    def test_fewer_fields_than_the_limit_are_served(self):
        lines = [b"X-Filler-%d: v" % i for i in range(58)]
        raw = (b"GET /health HTTP/1.1\r\nHost: localhost\r\n" +
               b"".join(l + b"\r\n" for l in lines) + b"\r\n")
        st, _, _ = self.one_response(raw, closed=False, timeout=2.0)
        self.assertEqual(st, 200)

    def test_obs_fold_is_400_and_close(self):
        for fold in (b"X-A: a\r\n b", b"X-A: a\r\n  b: c"):
            st, _, body = self.one_response(self.smuggle_after([fold]))
            self.assertEqual(st, 400, (fold, body))
        # civetweb refuses any tab in the block before the host sees it,
        # with the answer it gives a block too large (README, limits)
        st, _, _ = self.one_response(self.smuggle_after([b"X-A: a\r\n\tb"]))
        self.assertIn(st, (400, 431))
        self.assert_intact()

    def test_lines_civetweb_stops_at_are_400(self):
        # a line it takes for the end of the block, a field without a
        # name, whitespace before the colon, a bare LF, whitespace before
        # the first field
        for line in (b"\rX-A: a", b": a", b"X-A : a", b"X-A: a\nX-B: b",
                     b"\x80X-A: a"):
            st, _, body = self.one_response(self.smuggle_after([line]))
            self.assertEqual(st, 400, (line, body))
        raw = (b"GET /health HTTP/1.1\r\n Host: localhost\r\n\r\n")
        st, _, _ = self.one_response(raw)
        self.assertEqual(st, 400)
        self.assert_intact()

    def test_header_block_too_large_is_431(self):
        raw = (b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: " +
               b"a" * 100000 + b"\r\n\r\n")
        st, _, body = self.one_response(raw)
        self.assertEqual(st, 431, body)
        self.assert_intact()

    def test_http11_without_host_or_with_two_is_400(self):
        for raw in (b"GET /health HTTP/1.1\r\n\r\n",
                    b"GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                    d.raw_post("/api/v1/messages", d.MESSAGE, host=b"a")
                    .replace(b"Host: a\r\n", b"")):
            st, _, body = self.one_response(raw)
            self.assertEqual(st, 400, (raw[:40], body))
            self.assertEqual(json.loads(body)["error"]["code"], "bad_host")
        st, _, _ = self.one_response(b"GET /health HTTP/1.0\r\n\r\n")
        self.assertEqual(st, 200)
        self.assert_intact()

    def test_every_answer_says_nosniff(self):
        answers = [gb.request(self.addr, "GET", p)
                   for p in ("/health", "/", "/api/v1/messages", "/nope",
                             "/static/app.js", "/metrics")]
        answers.append(self.one_response(b"GET /health HTTP/1.1\r\n\r\n"))
        answers.append(self.one_response(b"BREW / HTTP/1.1\r\n\r\n"))
        for st, h, _ in answers:
            self.assertEqual(h.get("x-content-type-options"), "nosniff",
                             (st, h))


if __name__ == "__main__":
    import unittest
    unittest.main()
