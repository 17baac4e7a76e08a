-- wrk script: POST /token with a fresh authorization code per request (codes are single-use).
-- Each thread reads its own share of the codes file (env CODES_FILE, one code per line).
local counter = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local total = tonumber(os.getenv("WRK_THREADS"))
  codes = {}
  local i = 0
  for line in io.lines(os.getenv("CODES_FILE")) do
    if i % total == thread_id then table.insert(codes, line) end
    i = i + 1
  end
  next_code = 1
  exhausted = 0
  failures = 0
  path = os.getenv("TOKEN_PATH")
  headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = os.getenv("TOKEN_AUTH"),
  }
  suffix = os.getenv("TOKEN_BODY_SUFFIX")
end

function request()
  local code = codes[next_code]
  if code == nil then
    exhausted = exhausted + 1  -- reported: the run is then invalid and needs more codes
    code = "exhausted"
  end
  next_code = next_code + 1
  return wrk.format("POST", path, headers, "grant_type=authorization_code&code=" .. code .. suffix)
end

-- Once a thread has run out of codes its answers are 400 "unknown authorization code" by
-- design: they are counted as "exhausted" (the run is repeated with more codes), not as failures.
function response(status, headers, body)
  if status ~= 200 and exhausted == 0 then
    failures = failures + 1
    if failures == 1 then io.write("WRK_FIRST_FAILURE " .. status .. " " .. body .. "\n") end
  end
end

function done(summary, latency, requests)
  local failed, ran_out = 0, 0
  for _, thread in ipairs(threads) do
    failed = failed + thread:get("failures")
    ran_out = ran_out + thread:get("exhausted")
  end
  io.write(string.format("WRK_RESULT requests=%d failures=%d exhausted=%d p50_us=%d p99_us=%d duration_us=%d\n",
    summary.requests, failed, ran_out, latency:percentile(50), latency:percentile(99),
    summary.duration))
end
