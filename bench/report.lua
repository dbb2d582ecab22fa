-- wrk script for `make bench`: counts answers whose status is not the expected one
-- (BENCH_EXPECT, default 200) and prints one machine-readable summary line. With
-- BENCH_UNIQUE=1 every request's URL gets its own extra query parameter, so no cache
-- keyed by URL can answer it (the path must already have a query string).
local expected = tonumber(os.getenv("BENCH_EXPECT") or "200")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

if os.getenv("BENCH_UNIQUE") == "1" then
  local sent = 0
  function request()
    sent = sent + 1
    return wrk.format(nil, wrk.path .. "&bench=" .. id .. "-" .. sent)
  end
end

function init(args)
  unexpected = 0
end

function response(status, headers, body)
  if status ~= expected then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local wrong = 0
  for _, thread in ipairs(threads) do
    wrong = wrong + thread:get("unexpected")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"unexpected": %d, "socket": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    wrong, e.connect + e.read + e.write + e.timeout))
end
