"""Row 8: the SQLite file deleted (or replaced) under a running server.
/ready and posts turn 503 within 2 s and stay so; nothing is acknowledged
into the unlinked file; a restart does not create an empty database over
the path that held one, and says why; a restored database starts with
every acknowledged message."""

import json
import os
import shutil
import signal
import time
import unittest

import gbhostile as gb


class DeletedDatabase(unittest.TestCase):
    def setUp(self):
        self.srv = gb.Server("--rate-limit", "0")
        self.addCleanup(self.srv.cleanup)
        self.acked = []
        for i in range(5):
            st, _, body = gb.post_message(self.srv.addr, "a", "m%d" % i)
            self.assertEqual(st, 201, body)
            self.acked.append(json.loads(body)["id"])

    def wait_refusing(self, limit=2.0):
        """Seconds until /ready and a post both answer 503; every post
        answered 201 meanwhile is remembered as acknowledged."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit + 1.0:
            ready, _, _ = gb.request(self.srv.addr, "GET", "/ready")
            st, _, body = gb.post_message(self.srv.addr, "a", "after")
            if st == 201:
                self.acked.append(json.loads(body)["id"])
            if ready == 503 and st == 503:
                return time.monotonic() - t0
            time.sleep(0.05)
        self.fail("/ready %d and post %d %.1f s after the delete" %
                  (ready, st, limit + 1.0))

    def assert_refuses_start(self, *why):
        rc, out = gb.start_fails(self.srv.db)
        self.assertEqual(rc, 2, out)
        for w in why:
            self.assertIn(w, out)
        self.assertFalse(os.path.exists(self.srv.db),
                         "a new database was created over the lost one")

    def test_delete_is_503_within_2_s_and_a_restart_refuses(self):
        os.unlink(self.srv.db)
        took = self.wait_refusing()
        print("deleted: /ready and posts 503 after %.2f s" % took)
        self.assertEqual(self.acked[5:], [],
                         "a post was acknowledged into the deleted file")
        st, h, _ = gb.post_message(self.srv.addr, "a", "again")
        self.assertEqual((st, h.get("retry-after")), (503, "2"))
        st, _, body = gb.request(self.srv.addr, "GET", "/ready")
        self.assertIn("deleted or replaced", body.decode())
        st, _, _ = gb.request(self.srv.addr, "GET", "/api/v1/messages")
        self.assertEqual(st, 503)
        st, _, _ = gb.request(self.srv.addr, "GET", "/health")
        self.assertEqual(st, 200, "the process keeps serving")
        self.assertIn("was deleted or replaced while guestbookd had it open",
                      self.srv.log_text())
        self.assertEqual(self.srv.stop(), 0)
        self.assert_refuses_start("its -created file says a database was",
                                  "restore it from a backup")
        # Deleting the marker and the -wal and -shm files is how an
        # operator asks for an empty one, and the start says what it did.
        for suffix in ("-created", "-wal", "-shm"):
            if os.path.exists(self.srv.db + suffix):
                os.unlink(self.srv.db + suffix)
        fresh = gb.Server(db=self.srv.db)
        self.addCleanup(fresh.cleanup)
        self.assertIn("created a new, empty database", fresh.log_text())
        self.assertEqual(gb.stored_messages(fresh.addr), [])

    def test_replaced_file_is_detected_too(self):
        other = self.srv.db + ".other"
        shutil.copyfile(self.srv.db, other)
        os.replace(other, self.srv.db)
        took = self.wait_refusing()
        print("replaced: /ready and posts 503 after %.2f s" % took)
        self.assertEqual(self.acked[5:], [])

    def test_wal_left_behind_refuses_even_without_the_marker(self):
        # A crash leaves the -wal; then the database and its marker go.
        self.srv.stop(signal.SIGKILL)
        self.assertGreater(os.path.getsize(self.srv.db + "-wal"), 0)
        os.unlink(self.srv.db)
        os.unlink(self.srv.db + "-created")
        self.assert_refuses_start("its -wal file says a database was")

    def test_a_restored_database_has_every_acknowledged_message(self):
        self.assertEqual(self.srv.stop(), 0)
        backup = os.path.join(self.srv.dir, "backup.db")
        shutil.copyfile(self.srv.db, backup)
        os.unlink(self.srv.db)
        self.assert_refuses_start("its -created file")
        os.replace(backup, self.srv.db)
        again = gb.Server(db=self.srv.db)
        self.addCleanup(again.cleanup)
        self.assertEqual(sorted(m["id"] for m in
                                gb.stored_messages(again.addr)),
                         sorted(self.acked))

    def test_first_start_on_an_empty_directory_writes_the_marker(self):
        with open(self.srv.db + "-created") as f:
            self.assertIn("refuses to start when guestbook.db is missing",
                          f.read())
        self.assertIn("created a new, empty database", self.srv.log_text())


if __name__ == "__main__":
    unittest.main()
