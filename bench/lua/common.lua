-- Shared by every scenario: the callers' tokens, the seeded row layout, and the JSON report.
-- Everything comes from BENCH_* environment variables set by bench/run.py.
bench = {}

local function env_number(name)
  return tonumber(os.getenv(name) or "0")
end

bench.users = {}
bench.tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do
  local user, token = line:match("^(%S+) (%S+)$")
  bench.users[#bench.users + 1] = user
  bench.tokens[#bench.tokens + 1] = token
end
bench.first_task_id = env_number("BENCH_FIRST_TASK_ID")
bench.tasks_per_user = env_number("BENCH_TASKS_PER_USER")
bench.header_auth = os.getenv("BENCH_HEADER_AUTH") == "1"

-- Headers that authenticate as caller number `index` (1-based): a real token, or in the
-- bench-only no-auth runs the header bench/trusted_header_auth.py trusts.
function bench.auth_headers(index, headers)
  headers = headers or {}
  if bench.header_auth then
    headers["X-Bench-User"] = bench.users[index]
  else
    headers["Authorization"] = "Bearer " .. bench.tokens[index]
  end
  return headers
end

function bench.random_user()
  return math.random(#bench.users)
end

-- A task that caller `index` owns, by the layout bench/seed.py writes and checks.
function bench.random_task_of(index)
  return bench.first_task_id + (index - 1) * bench.tasks_per_user + math.random(bench.tasks_per_user) - 1
end

function bench.json_headers(index)
  return bench.auth_headers(index, { ["Content-Type"] = "application/json" })
end

local threads = {}

function setup(thread)
  thread:set("thread_number", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  math.randomseed(os.time() + thread_number * 7919)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
      .. '"non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
