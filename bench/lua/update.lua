-- A full update (PUT) of a random regular user's task.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local count = 0

function request()
  count = count + 1
  local user = bench.random_user()
  local body = string.format('{"title": "updated %d-%d", "description": "by bench/lua/update.lua", "completed": %s}',
    thread_number, count, count % 2 == 0 and "true" or "false")
  return wrk.format("PUT", "/api/tasks/" .. bench.random_task_of(user), bench.json_headers(user), body)
end
