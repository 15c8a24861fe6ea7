-- bench/wrk_post.lua: POST /api/v1/messages, every body unique.
-- Optional script arguments (after "--"): requests per thread, after which
-- the thread stops (used to seed the database; 0: no limit), and "form"
-- to post the page's form to /post instead (every message unique too, so
-- duplicates can be counted afterwards).
dofile(os.getenv("BENCH_DIR") .. "/wrk_report.lua")

local next_thread = 0

function setup(thread)
	thread:set("thread_id", next_thread)
	next_thread = next_thread + 1
end

local counter = 0
local run = ""
local form = false
local headers = { ["Content-Type"] = "application/json" }

function init(args)
	run = string.format("%d-%d", os.time(), math.random(1, 1e9))
	local limit = tonumber(args[1])
	if args[2] == "form" then
		form = true
		headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
	end
	if limit and limit > 0 then
		local answered = 0
		response = function(status, hdrs, body)
			answered = answered + 1
			if answered >= limit then
				wrk.thread:stop()
			end
		end
	end
end

function request()
	counter = counter + 1
	local t = thread_id or 0
	if form then
		return wrk.format("POST", "/post", headers, string.format(
			"name=bench+%d&message=run+%s+message+%d-%d",
			t, run, t, counter))
	end
	local body = string.format(
		'{"author":"bench %d","message":"run %s, message %d"}',
		t, run, counter)
	return wrk.format("POST", "/api/v1/messages", headers, body)
end
