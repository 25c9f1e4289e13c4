-- The completion toggle on a random regular user's task.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function request()
  local user = bench.random_user()
  return wrk.format("PATCH", "/api/tasks/" .. bench.random_task_of(user) .. "/complete", bench.auth_headers(user))
end
