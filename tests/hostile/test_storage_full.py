"""Row 11: the disk under the SQLite database fills up, or the database
turns read-only, while guestbookd runs. Reads still work, so the pod can
serve: /ready stays 200 in every sample (no flapping); posts answer 503
with Retry-After and store nothing; the write failure shows in /ready's
detail and in guestbook_storage_writable; once space is back, posts work
again without a restart and no acknowledged message is lost."""

import json
import os
import subprocess
import threading
import time
import unittest

import gbhostile as gb


class ReadySampler(threading.Thread):
    """GET /ready every 0.1 s: (status, body) of each."""

    def __init__(self, addr):
        super().__init__(daemon=True)
        self.addr, self.samples = addr, []
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            st, _, body = gb.request(self.addr, "GET", "/ready")
            self.samples.append((st, json.loads(body)))
            self._halt.wait(0.1)

    def finish(self):
        self._halt.set()
        self.join(10)
        return self.samples


class WritesFail(unittest.TestCase):
    def start_on(self, db):
        self.srv = gb.Server("--rate-limit", "0", db=db)
        self.addCleanup(self.srv.cleanup)
        self.acked = []
        for i in range(5):
            self.post_ok("before %d" % i)

    def post_ok(self, text):
        st, _, body = gb.post_message(self.srv.addr, "a", text)
        self.assertEqual(st, 201, body)
        self.acked.append(json.loads(body)["id"])

    def writable(self):
        _, _, text = gb.request(self.srv.addr, "GET", "/metrics")
        return gb.metric_value(text.decode(), "guestbook_storage_writable")

    def assert_reads_serve_while_writes_fail(self, cause):
        sampler = ReadySampler(self.srv.addr)
        sampler.start()
        # At least 10 posts and 20 readiness samples (4 s on an idle
        # machine), within 15 s on a loaded one.
        refused = 0
        t_end = time.monotonic() + 15.0
        while time.monotonic() < t_end and (refused < 10 or
                                            len(sampler.samples) < 20):
            st, h, body = gb.post_message(self.srv.addr, "a", "while broken")
            self.assertEqual(st, 503, body)
            self.assertEqual(h.get("retry-after"), "2")
            refused += 1
            for path in ("/api/v1/messages", "/"):
                st, _, _ = gb.request(self.srv.addr, "GET", path)
                self.assertEqual(st, 200, "reads keep working: " + path)
            time.sleep(0.2)
        samples = sampler.finish()
        statuses = [s[0] for s in samples]
        print("%s: %d posts refused, /ready %d of %d samples 200" %
              (cause, refused, statuses.count(200), len(statuses)))
        self.assertGreaterEqual(refused, 10)
        self.assertGreaterEqual(len(samples), 20)
        self.assertEqual(set(statuses), {200}, "/ready flapped")
        writes = samples[-1][1]["checks"]["storage"]["writes"]
        self.assertEqual(writes["status"], "fail")
        self.assertIn("sqlite", writes["error"])
        self.assertEqual(self.writable(), 0.0)

    def assert_recovered(self):
        self.post_ok("after")
        self.assertEqual(self.writable(), 1.0)
        _, _, body = gb.request(self.srv.addr, "GET", "/ready")
        self.assertEqual(json.loads(body)["checks"]["storage"]["writes"],
                         {"status": "ok"})
        stored = gb.stored_messages(self.srv.addr)
        self.assertEqual(sorted(m["id"] for m in stored), sorted(self.acked),
                         "every acknowledged message, nothing refused")
        self.assertTrue(self.srv.alive())

    def test_disk_full(self):
        disk = gb.SmallDisk("4m")
        self.addCleanup(disk.cleanup)
        self.start_on(disk.path("guestbook.db"))
        self.assertEqual(self.writable(), 1.0)
        filler = disk.fill()
        self.assert_reads_serve_while_writes_fail("disk full")
        self.assertIn("full", json.loads(gb.request(
            self.srv.addr, "GET", "/ready")[2])["checks"]["storage"]
            ["writes"]["error"])
        os.unlink(filler)
        self.assert_recovered()

    def test_read_only_database(self):
        # Immutable (chattr +i) refuses writes even through descriptors
        # already open, as a volume gone read-only does. The test
        # directory must be on a file system with the attribute (ext4,
        # xfs, btrfs); it is checked first.
        self.start_on(None)
        wal = self.srv.db + "-wal"
        probe = os.path.join(self.srv.dir, "probe")
        fd = os.open(probe, os.O_RDWR | os.O_CREAT)
        try:
            r = subprocess.run(["chattr", "+i", probe],
                               stderr=subprocess.PIPE)
            self.assertEqual(r.returncode, 0, "chattr +i: %s" % r.stderr)
            with self.assertRaises(OSError, msg="the file system of %s "
                                   "ignores chattr +i" % probe):
                os.pwrite(fd, b"x", 1 << 20)
        finally:
            os.close(fd)
            subprocess.run(["chattr", "-i", probe])
        subprocess.run(["chattr", "+i", wal], check=True)
        self.addCleanup(subprocess.run, ["chattr", "-i", wal])
        self.assert_reads_serve_while_writes_fail("read-only")
        subprocess.run(["chattr", "-i", wal], check=True)
        self.assert_recovered()


if __name__ == "__main__":
    unittest.main()
