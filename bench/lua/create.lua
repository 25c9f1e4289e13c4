-- A new task for a random regular user.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local count = 0

function request()
  count = count + 1
  local body = string.format('{"title": "created %d-%d", "description": "by bench/lua/create.lua"}',
    thread_number, count)
  return wrk.format("POST", "/api/tasks", bench.json_headers(bench.random_user()), body)
end
