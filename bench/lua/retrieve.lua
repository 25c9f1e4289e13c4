-- One task of a random regular user, by id.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function request()
  local user = bench.random_user()
  return wrk.format("GET", "/api/tasks/" .. bench.random_task_of(user), bench.auth_headers(user))
end
