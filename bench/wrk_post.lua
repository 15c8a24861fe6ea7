-- bench/wrk_post.lua: POST /api/v1/messages, every body unique.
-- Optional script argument (after "--"): requests per thread, after which
-- the thread stops (used to seed the database).
dofile(os.getenv("BENCH_DIR") .. "/wrk_report.lua")

local next_thread = 0

function setup(thread)
	thread:set("thread_id", next_thread)
	next_thread = next_thread + 1
end

local counter = 0
local run = ""
local headers = { ["Content-Type"] = "application/json" }

function init(args)
	run = string.format("%d-%d", os.time(), math.random(1, 1e9))
	local limit = tonumber(args[1])
	if limit then
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
	local body = string.format(
		'{"author":"bench %d","message":"run %s, message %d"}',
		thread_id or 0, run, counter)
	return wrk.format("POST", "/api/v1/messages", headers, body)
end
