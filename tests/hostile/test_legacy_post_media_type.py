"""Row 9, second half: a legacy POST /messages that a browser could send
cross site without a CORS preflight (text/plain, a form, multipart, or no
Content-Type) is 415 and stores nothing; only JSON is a legacy post. The
web page's form post (/post) stays form-encoded."""

import json
import unittest

import gbhostile as gb

BODY = json.dumps({"author": "evil", "message": "no preflight"})
SIMPLE_TYPES = ["text/plain", "text/plain;charset=UTF-8",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=b", None]


class LegacyPostMediaType(unittest.TestCase):
    def setUp(self):
        self.srv = gb.Server("--rate-limit", "0")
        self.addCleanup(self.srv.cleanup)

    def post(self, addr, ctype):
        h = {"Content-Type": ctype} if ctype else {}
        return gb.request(addr, "POST", "/messages", BODY, h)

    def test_simple_request_bodies_are_415_and_not_stored(self):
        for ctype in SIMPLE_TYPES:
            st, _, body = self.post(self.srv.addr, ctype)
            self.assertEqual(st, 415, (ctype, body))
            self.assertEqual(json.loads(body)["error"]["code"],
                             "unsupported_media_type")
        self.assertEqual(gb.stored_messages(self.srv.addr), [])
        st, _, body = self.post(self.srv.addr, "application/json")
        self.assertEqual((st, body), (201, b"{}"))
        self.assertEqual(len(gb.stored_messages(self.srv.addr)), 1)

    def test_the_same_through_the_edge(self):
        edge = gb.Edge("127.0.0.1:%d" % self.srv.port)
        self.addCleanup(edge.cleanup)
        st, _, _ = self.post(edge.addr, "text/plain")
        self.assertEqual(st, 415)
        st, _, _ = self.post(edge.addr, "application/json; charset=utf-8")
        self.assertEqual(st, 201)
        self.assertEqual([m["author"] for m in
                          gb.stored_messages(self.srv.addr)], ["evil"])

    def test_the_page_form_post_is_still_form_encoded(self):
        st, h, _ = gb.request(self.srv.addr, "POST", "/post",
                              "name=Ann&message=hello",
                              {"Content-Type":
                               "application/x-www-form-urlencoded"})
        self.assertEqual(st, 303)
        self.assertEqual([(m["author"], m["message"]) for m in
                          gb.stored_messages(self.srv.addr)],
                         [("Ann", "hello")])


if __name__ == "__main__":
    unittest.main()
