-- A page of 50 of the big user's tasks at a fixed position: BENCH_PATH holds the page's URL path
-- (first page, or a deep one with its cursor); the big user is the only line in BENCH_TOKENS.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local path = os.getenv("BENCH_PATH")

function request()
  return wrk.format("GET", path, bench.auth_headers(1))
end
