-- A page of 50 of a random regular user's tasks.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function request()
  return wrk.format("GET", "/api/tasks?limit=50", bench.auth_headers(bench.random_user()))
end
