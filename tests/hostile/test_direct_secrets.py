"""Row 13 of the edge table (the start-up part): a secret given as a flag
is visible to every user of the machine in ps, so guestbookd warns at
start-up and names the way that is not."""

import unittest

import gbhostile as gb


def warnings(srv):
    return [l["msg"] for l in srv.log_lines()
            if l.get("level") == "warn" and "secret" in l.get("msg", "")]


class SecretFlags(unittest.TestCase):
    def start(self, *args, env=None):
        srv = gb.Server(*args, env=env)
        self.addCleanup(srv.cleanup)
        return srv

    def test_admin_token_flag_warns_and_points_at_the_file(self):
        for args in (("--admin-token", "s3cret"), ("--admin-token=s3cret",)):
            w = warnings(self.start(*args))
            self.assertEqual(len(w), 1, w)
            self.assertIn("--admin-token-file", w[0])
            self.assertIn("GUESTBOOK_ADMIN_TOKEN_FILE", w[0])
            self.assertNotIn("s3cret", w[0])

    def test_token_from_the_environment_or_a_file_is_quiet(self):
        self.assertEqual(warnings(self.start(
            env={"GUESTBOOK_ADMIN_TOKEN": "s3cret"})), [])


if __name__ == "__main__":
    unittest.main()
