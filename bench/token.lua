-- wrk script: POST /token with a fresh authorization code per request (codes are single-use).
-- Each thread reads its own share of the codes file (env CODES_FILE, one code per line).
local counter = 0

function setup(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
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

function response(status, headers, body)
  if status ~= 200 then
    failures = failures + 1
    if failures == 1 then io.write("WRK_FIRST_FAILURE " .. status .. " " .. body .. "\n") end
  end
end

function done(summary, latency, requests)
  io.write(string.format("WRK_RESULT requests=%d errors_status=%d p50_us=%d p99_us=%d duration_us=%d\n",
    summary.requests, summary.errors.status, latency:percentile(50), latency:percentile(99),
    summary.duration))
end
