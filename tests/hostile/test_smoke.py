"""The suite's own footing: a server starts, answers one request per
request written on a keep-alive connection, and the probe loop sees it."""

import time
import unittest

import gbhostile as gb


class Smoke(unittest.TestCase):
    def setUp(self):
        self.srv = gb.Server()
        self.addCleanup(self.srv.cleanup)

    def test_pipelined_requests_get_one_response_each(self):
        raw = (b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" * 3 +
               b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        resp, rest, closed = gb.exchange(self.srv.addr, raw)
        self.assertEqual([r[0] for r in resp], [200] * 4)
        self.assertEqual(rest, b"")
        self.assertTrue(closed)

    def test_probe_loop_is_served(self):
        p = gb.Prober(self.srv.addr)
        p.start()
        time.sleep(2.2)
        p.assert_served(self)
        self.assertTrue(self.srv.alive())


if __name__ == "__main__":
    unittest.main()
