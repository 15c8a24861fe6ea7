"""Row 7 of the edge table, direct: with trust_proxy on, the client is the
last X-Forwarded-For entry over all X-Forwarded-For lines, the one the
proxy in front appended. A forged line before the proxy's own must not
give each post a fresh rate-limit bucket."""

import json

import gbdirect as d
import gbhostile as gb


class TrustProxy(d.DirectCase):
    # 10 a minute: bursts of 5
    server_args = ("--trust-proxy", "on", "--rate-limit", "10")

    def forged_post(self, i, proxy_line):
        body = json.dumps({"author": "forger", "message": "post %d" % i})
        raw = d.raw_post("/api/v1/messages", body, headers=[
            b"X-Forwarded-For: 198.51.100.%d" % (i % 250),
            b"X-Forwarded-For: " + proxy_line,
            b"Connection: close"])
        st, _, resp = self.one_response(raw)
        if st == 201:
            self.acked.append(json.loads(resp)["id"])
        return st

    def test_forged_line_before_the_proxys_does_not_bypass_the_limit(self):
        # setUp posted once from 127.0.0.1 itself; the forger is 10.0.0.9
        statuses = [self.forged_post(i, b"10.0.0.9") for i in range(40)]
        passed = statuses.count(201)
        self.assertLessEqual(passed, 6, statuses)
        self.assertEqual(statuses.count(201) + statuses.count(429), 40)
        print("\nforged X-Forwarded-For: %d of 40 passed" % passed)
        self.assert_intact()

    def test_forged_entries_on_one_line_do_not_bypass_the_limit(self):
        statuses = [self.forged_post(i, b"203.0.113.%d, 10.0.0.7" % i)
                    for i in range(20)]
        self.assertLessEqual(statuses.count(201), 6, statuses)
        self.assert_intact()


if __name__ == "__main__":
    import unittest
    unittest.main()
