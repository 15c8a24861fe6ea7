"""Row 5 of the edge table, direct: 64 POSTs sending their body at 1 byte
every 3 s. Each gets 408 and a closed connection from the host's own body
deadline and minimum rate; the legitimate probe loop is served in under
1 s the whole time; nothing of theirs is stored."""

import socket
import threading
import time

import gbdirect as d
import gbhostile as gb


def slow_body(addr, results, i, stop):
    """Sends a POST head and then one body byte every 3 s until the
    server answers (or 20 s pass)."""
    body = d.MESSAGE
    t0 = time.monotonic()
    try:
        s = gb.connect(addr, 5.0)
        s.sendall(b"POST /api/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
                  b"Content-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        s.settimeout(3.0)
        data, sent = b"", 0
        while time.monotonic() - t0 < 20 and not stop.is_set():
            try:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            except socket.timeout:
                if sent < len(body) - 1:
                    try:
                        s.send(body[sent:sent + 1])
                        sent += 1
                    except OSError:
                        break
            except OSError:
                break
        s.close()
        results[i] = (data, time.monotonic() - t0)
    except OSError as e:
        results[i] = (repr(e).encode(), time.monotonic() - t0)


class SlowBodies(d.DirectCase):
    def test_64_slow_bodies_get_408_and_probes_are_served(self):
        stop = threading.Event()
        results = [None] * 64
        threads = [threading.Thread(target=slow_body,
                                    args=(self.addr, results, i, stop),
                                    daemon=True) for i in range(64)]
        probe = gb.Prober(self.addr)
        probe.start()
        for t in threads:
            t.start()
        time.sleep(1.0)  # all attached, their first byte not yet sent
        # a legitimate write while they hold their connections
        self.post_ok("during", "posted while 64 bodies trickle")
        for t in threads:
            t.join(25)
        stop.set()
        worst = probe.assert_served(self, limit=1.0)
        statuses, took = [], []
        for data, secs in results:
            resp, rest = gb.parse_responses(data)
            statuses.append([r[0] for r in resp])
            self.assertEqual(rest, b"")
            took.append(secs)
        self.assertEqual(statuses, [[408]] * 64)
        self.assertLess(max(took), 8.0, "the body deadline came too late")
        print("\nslow bodies: 408 after %.1f-%.1f s, worst probe %.3f s" %
              (min(took), max(took), worst))
        self.assert_intact()

    def test_a_slow_but_steady_body_is_read(self):
        # 2 KB/s, above the minimum rate: stored
        import json
        body = json.dumps({"author": "steady", "message": "x" * 900}).encode()
        s = gb.connect(self.addr)
        try:
            s.sendall(b"POST /api/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
                      b"Content-Type: application/json\r\n"
                      b"Connection: close\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body))
            for i in range(0, len(body), 200):
                time.sleep(0.1)
                s.sendall(body[i:i + 200])
            data, _ = gb.read_until_close(s, 5.0)
        finally:
            s.close()
        self.assert_created(data)
        self.assert_intact()


if __name__ == "__main__":
    import unittest
    unittest.main()
