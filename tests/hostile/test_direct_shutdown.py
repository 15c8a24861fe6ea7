"""Row 12 of the edge table, direct: SIGTERM under load. Every request the
server accepted is answered, those in flight and those civetweb queued for
a free thread alike; after a response that says `Connection: close`
nothing more is served on that connection; and the port is closed before
the last requests are served, so late clients are refused, not cut."""

import json
import signal
import socket
import threading
import time

import gbdirect as d
import gbhostile as gb


def steady_post(addr, out, i, t_end):
    """A post whose 4 KB body arrives at about 2 KB/s until t_end."""
    body = json.dumps({"author": "steady", "message": "in flight %d" % i})
    body = body.encode() + b" " * 4000
    try:
        s = gb.connect(addr, 5.0)
        s.sendall(b"POST /api/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
                  b"Content-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        step = max(1, len(body) // 20)
        for k in range(0, len(body), step):
            time.sleep(max(0.0, (t_end - time.monotonic()) / 20))
            s.sendall(body[k:k + step])
        data, _ = gb.read_until_close(s, 10.0)
        s.close()
        out[i] = data
    except OSError as e:
        out[i] = repr(e).encode()


class Shutdown(d.DirectCase):
    server_args = ("--threads", "4", "--drain-seconds", "1")

    def test_in_flight_and_queued_requests_are_answered(self):
        t0 = time.monotonic()
        posts = [None] * 4
        pt = [threading.Thread(target=steady_post,
                               args=(self.addr, posts, i, t0 + 2.5))
              for i in range(4)]
        for t in pt:
            t.start()
        time.sleep(0.4)  # the 4 threads are busy reading bodies
        self.srv.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        queued = []
        for _ in range(8):  # accepted, waiting for a thread
            s = gb.connect(self.addr)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            queued.append(s)
        answers = []
        for s in queued:
            data, closed = gb.read_until_close(s, 10.0)
            s.close()
            resp, rest = gb.parse_responses(data)
            answers.append(([r[0] for r in resp], rest, closed))
            self.assertEqual(resp[0][1].get("connection"), "close")
        for t in pt:
            t.join(15)
        self.assertEqual(answers, [([200], b"", True)] * 8)
        for data in posts:
            resp, rest = gb.parse_responses(data)
            self.assertEqual([r[0] for r in resp], [201], data[:200])
            self.acked.append(json.loads(resp[0][2])["id"])
        self.assertEqual(self.srv.proc.wait(20), 0)
        # the port is closed: a late client is refused
        with self.assertRaises(OSError):
            socket.create_connection(self.addr, 1.0).close()
        self.assert_stored_after_restart()

    def test_nothing_is_served_after_connection_close(self):
        self.srv.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        raw = (b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
               b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % len(d.MESSAGE) + d.MESSAGE)
        resp, rest, closed = gb.exchange(self.addr, raw)
        self.assertEqual([r[0] for r in resp], [200])
        self.assertEqual(resp[0][1].get("connection"), "close")
        self.assertEqual(rest, b"")
        self.assertTrue(closed)
        self.assertEqual(self.srv.proc.wait(20), 0)
        self.assert_stored_after_restart()

    def assert_stored_after_restart(self):
        again = gb.Server("--sqlite-path", self.srv.db)
        try:
            ids = sorted(m["id"] for m in gb.stored_messages(again.addr))
            self.assertEqual(ids, sorted(self.acked))
        finally:
            again.cleanup()


if __name__ == "__main__":
    import unittest
    unittest.main()
