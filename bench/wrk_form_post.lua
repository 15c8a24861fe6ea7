-- bench/wrk_form_post.lua: POST /post (the page's form), every message
-- unique ("run R, message T-N"), so duplicates can be counted afterwards.
dofile(os.getenv("BENCH_DIR") .. "/wrk_report.lua")

local next_thread = 0

function setup(thread)
	thread:set("thread_id", next_thread)
	next_thread = next_thread + 1
end

local counter = 0
local run = ""
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

function init(args)
	run = string.format("%d-%d", os.time(), math.random(1, 1e9))
end

function request()
	counter = counter + 1
	local body = string.format("name=bench+%d&message=run+%s+message+%d-%d",
		thread_id or 0, run, thread_id or 0, counter)
	return wrk.format("POST", "/post", headers, body)
end
