-- wrk script for `make bench`: counts answers whose status is not the expected one
-- (BENCH_EXPECT, default 200) and the answers by their X-Cache header (the proxy's cache
-- result; "-" when absent), and prints one machine-readable summary line. With
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
  x_cache = {}
end

function response(status, headers, body)
  if status ~= expected then
    unexpected = unexpected + 1
  end
  local cache = headers["X-Cache"] or "-"
  x_cache[cache] = (x_cache[cache] or 0) + 1
end

function done(summary, latency, requests)
  local wrong = 0
  local caches = {}
  for _, thread in ipairs(threads) do
    wrong = wrong + thread:get("unexpected")
    for value, count in pairs(thread:get("x_cache")) do
      caches[value] = (caches[value] or 0) + count
    end
  end
  local counted = {}
  for value, count in pairs(caches) do
    table.insert(counted, string.format('"%s": %d', value, count))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"unexpected": %d, "socket": %d, "x_cache": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    wrong, e.connect + e.read + e.write + e.timeout, table.concat(counted, ", ")))
end
