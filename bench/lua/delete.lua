-- Deletes pool tasks, each exactly once: thread t walks its own slice of this run's share of the
-- pool (BENCH_POOL_SIZE tasks from offset BENCH_POOL_START). Task BENCH_POOL_FIRST_ID + j belongs
-- to regular user (j mod users) + 1, the layout bench/seed.py writes and checks.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local pool_first = tonumber(os.getenv("BENCH_POOL_FIRST_ID"))
local share_start = tonumber(os.getenv("BENCH_POOL_START"))
local slice = math.floor(tonumber(os.getenv("BENCH_POOL_SIZE")) / tonumber(os.getenv("BENCH_THREADS")))
local next_offset = nil

function request()
  next_offset = next_offset or share_start + thread_number * slice
  local offset = next_offset
  next_offset = next_offset + 1
  local user = offset % #bench.users + 1
  return wrk.format("DELETE", "/api/tasks/" .. (pool_first + offset), bench.auth_headers(user))
end
