"""Row 9 of the edge table (the host's half), direct: a state-changing
request (POST, PUT, PATCH, DELETE) that a browser says comes from another
site is 403 before its body is read: `Sec-Fetch-Site: cross-site`,
`Origin: null`, or an Origin whose host[:port] is not the Host header
(unless Sec-Fetch-Site says same-origin or none).
Same-origin posts and clients that send neither header are served."""

import json
import urllib.parse

import gbdirect as d
import gbhostile as gb

FORM = urllib.parse.urlencode({"name": "mallory",
                               "message": "cross-site"}).encode()
FORM_TYPE = "application/x-www-form-urlencoded"


class CrossSite(d.DirectCase):
    def test_cross_site_form_post_is_403_and_not_stored(self):
        for header in (b"Origin: https://evil.example",
                       b"Origin: http://localhost.evil.example",
                       b"Origin: http://localhost:9999",
                       b"Origin: null",
                       b"Sec-Fetch-Site: cross-site"):
            raw = d.raw_post("/post", FORM, [header], FORM_TYPE)
            st, _, body = self.one_response(raw)
            self.assertEqual(st, 403, (header, body))
            self.assertEqual(json.loads(body)["error"]["code"], "cross_site")
            raw = d.raw_post("/api/v1/messages", d.MESSAGE, [header])
            st, _, _ = self.one_response(raw)
            self.assertEqual(st, 403, header)
        self.assert_intact()

    def test_cross_site_delete_is_403(self):
        raw = (b"DELETE /api/v1/messages/%s HTTP/1.1\r\nHost: localhost\r\n"
               b"Authorization: Bearer x\r\nOrigin: https://evil.example\r\n"
               b"\r\n" % self.acked[0].encode())
        st, _, _ = self.one_response(raw)
        self.assertEqual(st, 403)
        self.assert_intact()

    def test_same_origin_and_plain_clients_are_served(self):
        for headers in ([b"Origin: http://localhost"],
                        [b"Origin: http://LOCALHOST:80"],
                        [b"Sec-Fetch-Site: same-origin",
                         b"Origin: http://localhost"],
                        [b"Sec-Fetch-Site: none"], []):
            st, h, body = gb.post_message(
                self.addr, "ada", "same origin",
                dict(l.decode().split(": ", 1) for l in headers))
            self.assertEqual(st, 201, (headers, body))
            self.acked.append(json.loads(body)["id"])
        for origin in ([b"Origin: http://localhost:8080"],
                       # Chromium, on a page with Referrer-Policy: no-referrer
                       [b"Origin: null", b"Sec-Fetch-Site: same-origin"]):
            raw = d.raw_post("/post", FORM.replace(b"mallory", b"bob"),
                             origin, FORM_TYPE, host=b"localhost:8080")
            st, _, _ = self.one_response(raw)
            self.assertEqual(st, 303, origin)
            page = json.loads(gb.request(self.addr, "GET",
                                         "/api/v1/messages")[2])["messages"]
            self.acked.append(page[0]["id"])
        self.assert_intact()

    def test_reads_from_other_sites_are_served(self):
        st, _, _ = gb.request(self.addr, "GET", "/api/v1/messages",
                              headers={"Origin": "https://evil.example",
                                       "Sec-Fetch-Site": "cross-site"})
        self.assertEqual(st, 200)


if __name__ == "__main__":
    import unittest
    unittest.main()
