"""Crowds through the edge (deploy/edge/nginx.conf.template in front of
guestbookd with its default 64 threads): 2,000 idle sockets, 500 slow
bodies and 1,000 busy connections must cost the probe loop nothing, and
every one of the 1,000 connections must be served.

The crowd comes from many loopback addresses (127.G.x.y), as a real crowd
comes from many clients; the probe loop is 127.0.0.1."""

import select
import selectors
import time
import unittest

import gbhostile as gb


def setUpModule():
    gb.raise_nofile(8192)


class EdgeCrowds(unittest.TestCase):
    def setUp(self):
        self.srv = gb.Server("--trust-proxy", "on", "--rate-limit", "0")
        self.addCleanup(self.srv.cleanup)
        self.edge = gb.Edge("127.0.0.1:%d" % self.srv.port)
        self.addCleanup(self.edge.cleanup)

    def probe_during(self, seconds):
        p = gb.Prober(self.edge.addr)
        p.start()
        time.sleep(seconds)
        worst = p.assert_served(self, limit=1.0, min_samples=8)
        return worst

    def test_2000_idle_sockets_cost_the_probes_nothing(self):
        # Half say nothing at all, half stop in the middle of a request head.
        silent = gb.open_crowd(self.edge.addr, 1000, 10, 20)
        self.addCleanup(gb.close_all, silent)
        partial = gb.open_crowd(self.edge.addr, 1000, 11, 20,
                                b"GET / HTTP/1.1\r\nHost: x\r\n")
        self.addCleanup(gb.close_all, partial)
        worst = self.probe_during(5.0)
        print("2000 idle sockets: worst probe %.3f s" % worst)
        # nginx still holds them: none was refused or dropped early.
        p = select.poll()
        for s in silent + partial:
            p.register(s, select.POLLIN)
        self.assertEqual(p.poll(0), [], "the edge closed idle sockets "
                         "before its 10 s header deadline")
        self.assertTrue(self.srv.alive())

    def test_500_slow_bodies_cost_the_probes_nothing_and_store_nothing(self):
        head = (b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\n"
                b"Content-Length: 60\r\n\r\n{")
        slow = gb.open_crowd(self.edge.addr, 500, 12, 10, head)
        self.addCleanup(gb.close_all, slow)
        p = gb.Prober(self.edge.addr)
        p.start()
        t_end = time.monotonic() + 5.0
        while time.monotonic() < t_end:
            for s in slow:
                try:
                    s.send(b" ")
                except OSError:
                    pass
            time.sleep(1.0)
        worst = p.assert_served(self, limit=1.0, min_samples=8)
        print("500 slow bodies: worst probe %.3f s" % worst)
        # A legitimate post during the attack is stored.
        st, _, body = gb.post_message(self.edge.addr, "real", "client")
        self.assertEqual(st, 201, body)
        # The bodies never reached guestbookd: it saw no slow request.
        posts = gb.access_lines(self.srv, "POST", at_least=1)
        self.assertEqual(len(posts), 1, posts)
        gb.close_all(slow)
        stored = gb.stored_messages(self.srv.addr)
        self.assertEqual([(m["author"], m["message"]) for m in stored],
                         [("real", "client")])

    def test_1000_connections_are_all_served(self):
        n, per_client, seconds = 1000, 10, 4.0
        socks = gb.open_crowd(self.edge.addr, n, 13, per_client)
        self.addCleanup(gb.close_all, socks)
        answered, total, bad = crowd_get(socks, "/api/v1/messages", seconds)
        rate = total / seconds
        print("1000 connections: %d answered, %d responses (%.0f/s), "
              "%d not 200" % (answered, total, rate, bad))
        self.assertEqual(bad, 0)
        self.assertEqual(answered, n, "connections that got no answer")
        self.assertTrue(self.srv.alive())
        st, _, _ = gb.request(self.edge.addr, "GET", "/health")
        self.assertEqual(st, 200)


def crowd_get(socks, path, seconds, max_wait=20.0):
    """Every socket sends GET path, reads the answer, and sends the next,
    for `seconds` (keep-alive, like wrk). Returns (sockets with at least
    one answer, answers, answers that were not 200). A socket still
    waiting when time is up gets until max_wait for its first answer."""
    req = ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode()
    sel = selectors.DefaultSelector()
    state = {}
    for s in socks:
        s.setblocking(False)
        s.send(req)
        state[s] = {"buf": b"", "n": 0}
        sel.register(s, selectors.EVENT_READ)
    total = bad = 0
    t0 = time.monotonic()
    stop_sending = t0 + seconds
    give_up = t0 + max_wait
    waiting = len(socks)
    while waiting and time.monotonic() < give_up:
        for key, _ in sel.select(0.2):
            s = key.fileobj
            st = state[s]
            try:
                chunk = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = b""
            if not chunk:
                sel.unregister(s)
                waiting -= 1
                continue
            st["buf"] += chunk
            resp, st["buf"] = gb.parse_responses(st["buf"])
            for status, _, _ in resp:
                st["n"] += 1
                total += 1
                if status != 200:
                    bad += 1
                    print("crowd: status %d" % status)
            if resp and not st["buf"]:
                if time.monotonic() < stop_sending:
                    try:
                        s.send(req)
                        continue
                    except OSError:
                        pass
                sel.unregister(s)
                waiting -= 1
    sel.close()
    answered = sum(1 for v in state.values() if v["n"] > 0)
    return answered, total, bad


if __name__ == "__main__":
    unittest.main()
