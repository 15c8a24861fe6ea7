-- bench/wrk_report.lua: prints one machine-readable line when wrk is done;
-- bench/run.sh reads it (and wrk_post.lua loads it).
function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"WRK requests=%d duration_us=%d p50_us=%d p99_us=%d " ..
		"socket_errors=%d status_errors=%d\n",
		summary.requests, summary.duration,
		latency:percentile(50), latency:percentile(99),
		e.connect + e.read + e.write + e.timeout, e.status))
end
