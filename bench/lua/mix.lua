-- A working day: 70 % list, 10 % each of create, toggle and full update, for random regular users.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local count = 0

local function update(user)
  local body = string.format('{"title": "mixed %d-%d", "description": "by bench/lua/mix.lua", "completed": false}',
    thread_number, count)
  return wrk.format("PUT", "/api/tasks/" .. bench.random_task_of(user), bench.json_headers(user), body)
end

function request()
  count = count + 1
  local user = bench.random_user()
  local roll = math.random(100)
  if roll <= 70 then
    return wrk.format("GET", "/api/tasks?limit=50", bench.auth_headers(user))
  elseif roll <= 80 then
    local body = string.format('{"title": "mixed %d-%d"}', thread_number, count)
    return wrk.format("POST", "/api/tasks", bench.json_headers(user), body)
  elseif roll <= 90 then
    return wrk.format("PATCH", "/api/tasks/" .. bench.random_task_of(user) .. "/complete", bench.auth_headers(user))
  end
  return update(user)
end
