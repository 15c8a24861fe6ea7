"""What every direct-exposure scenario checks besides its own row: exactly
one response per request written, nothing stored that should not be, no
acknowledged write lost, and the server still serving afterwards."""

import json
import socket
import time
import unittest

import gbhostile as gb


class DirectCase(unittest.TestCase):
    """guestbookd alone on loopback, with one message posted and
    acknowledged before the attack."""

    server_args = ()

    def setUp(self):
        self.srv = gb.Server(*self.server_args)
        self.addCleanup(self.srv.cleanup)
        self.acked = []
        self.post_ok("before", "acknowledged before the attack")

    @property
    def addr(self):
        return self.srv.addr

    def post_ok(self, author, message, headers=None):
        st, _, body = gb.post_message(self.addr, author, message, headers)
        self.assertEqual(st, 201, body)
        self.acked.append(json.loads(body)["id"])

    def one_response(self, raw, timeout=5.0, closed=True):
        """Sends raw bytes on a new connection; asserts exactly one
        response came back and nothing else, and (by default) that the
        server closed the connection. Returns (status, headers, body)."""
        resp, rest, was_closed = gb.exchange(self.addr, raw, timeout)
        self.assertEqual(len(resp), 1, "responses: %r rest: %r" %
                         ([r[0] for r in resp], rest[:200]))
        self.assertEqual(rest, b"", "bytes after the response")
        if closed:
            self.assertTrue(was_closed, "the server kept the connection")
        return resp[0]

    def assert_created(self, data):
        """`data` is exactly one 201; its message counts as acknowledged."""
        resp, rest = gb.parse_responses(data)
        self.assertEqual([r[0] for r in resp], [201], data[:300])
        self.assertEqual(rest, b"")
        self.acked.append(json.loads(resp[0][2])["id"])

    def assert_intact(self):
        """The server serves, every acknowledged write is stored and
        nothing else is."""
        self.assertTrue(self.srv.alive(), "guestbookd died")
        st, _, _ = gb.request(self.addr, "GET", "/health")
        self.assertEqual(st, 200)
        st, _, _ = gb.request(self.addr, "GET", "/")
        self.assertEqual(st, 200)
        ids = sorted(m["id"] for m in gb.stored_messages(self.addr))
        self.assertEqual(ids, sorted(self.acked),
                         "stored messages differ from the acknowledged ones")


def raw_post(path, body, headers=(), content_type="application/json",
             host=b"localhost"):
    """A POST as bytes, with Content-Length and the extra header lines."""
    if isinstance(body, str):
        body = body.encode()
    head = b"POST %s HTTP/1.1\r\nHost: %s\r\n" % (path.encode(), host)
    if content_type:
        head += b"Content-Type: %s\r\n" % content_type.encode()
    for h in headers:
        head += h + b"\r\n"
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


MESSAGE = json.dumps({"author": "mallory", "message": "smuggled"}).encode()


def send_head_then_body(addr, head, body_bytes, seconds, chunk=65536):
    """Sends `head`, then body bytes as fast as the server takes them for
    at most `seconds`. Returns (bytes of body accepted, seconds until the
    server stopped taking them, the answer read afterwards)."""
    s = gb.connect(addr)
    s.settimeout(0.5)
    sent = 0
    t0 = time.monotonic()
    stopped = None
    try:
        s.sendall(head)
        block = b"x" * chunk
        while time.monotonic() - t0 < seconds and sent < body_bytes:
            try:
                n = s.send(block[:min(chunk, body_bytes - sent)])
            except socket.timeout:
                continue
            except OSError:
                stopped = time.monotonic() - t0
                break
            sent += n
        data, _ = gb.read_until_close(s, 2.0)
    except OSError:
        data = b""
    finally:
        s.close()
    if stopped is None:
        stopped = time.monotonic() - t0
    return sent, stopped, data
