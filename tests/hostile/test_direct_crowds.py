"""Row 6 of the edge table, direct: what one process with a thread per
connection can do. 200 idle sockets do not keep the probe loop from an
answer in under 1 s, and the server closes them after the header deadline;
a busy keep-alive connection is closed after keepalive_requests requests
so that connections rotate."""

import time

import gbdirect as d
import gbhostile as gb


class Crowds(d.DirectCase):
    server_args = ("--keepalive-requests", "5")

    def test_200_idle_sockets_probes_served_and_idle_closed(self):
        probe = gb.Prober(self.addr)
        probe.start()
        socks = [gb.connect(self.addr) for _ in range(200)]
        t0 = time.monotonic()
        try:
            time.sleep(2.0)
            self.post_ok("during", "posted while 200 sockets sit idle")
            closed_at = []
            for s in socks:
                left = max(0.1, 8.0 - (time.monotonic() - t0))
                data, closed = gb.read_until_close(s, left)
                self.assertEqual(data, b"", "an idle socket got an answer")
                self.assertTrue(closed, "an idle socket was kept open")
                closed_at.append(time.monotonic() - t0)
        finally:
            for s in socks:
                s.close()
        worst = probe.assert_served(self, limit=1.0)
        # header_timeout_ms is 3 s by default
        self.assertLess(max(closed_at), 6.0)
        print("\n200 idle: closed after %.1f s, worst probe %.3f s" %
              (max(closed_at), worst))
        self.assert_intact()

    def test_keep_alive_connection_closes_after_the_cap(self):
        s = gb.connect(self.addr)
        statuses, conn_headers = [], []
        try:
            for _ in range(6):
                try:
                    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                except OSError:
                    break
                data = b""
                deadline = time.monotonic() + 3
                resp = []
                while not resp and time.monotonic() < deadline:
                    chunk, closed = gb.read_until_close(s, 0.3)
                    data += chunk
                    resp, _ = gb.parse_responses(data)
                    if closed and not resp:
                        break
                if not resp:
                    break
                statuses.append(resp[0][0])
                conn_headers.append(resp[0][1].get("connection"))
            rest, closed = gb.read_until_close(s, 2.0)
        finally:
            s.close()
        self.assertEqual(statuses, [200] * 5)
        self.assertEqual(conn_headers, ["keep-alive"] * 4 + ["close"])
        self.assertEqual(rest, b"")
        self.assertTrue(closed)
        self.assert_intact()


if __name__ == "__main__":
    import unittest
    unittest.main()
