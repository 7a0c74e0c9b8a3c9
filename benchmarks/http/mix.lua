-- wrk script for benchmarks/serve_load.sh: 90% GET /v1/recommendations for a random known
-- shopper, 10% POST /v1/events (a view by a random shopper of a random product). Reads
-- users.txt and items.txt from the working directory; prints one JSON line when done.
local users, items = {}, {}
local function load(path, into)
  for line in io.lines(path) do
    if #line > 0 then into[#into + 1] = line end
  end
end

function init(args)
  load("users.txt", users)
  load("items.txt", items)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local counter = 0
function request()
  counter = counter + 1
  local user = users[math.random(#users)]
  if counter % 10 == 0 then
    local body = string.format('{"user_id":"%s","item_id":"%s","type":"view"}', user,
                               items[math.random(#items)])
    return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/json"}, body)
  end
  return wrk.format("GET", "/v1/recommendations?k=10&user_id=" .. urlencode(user))
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read +
                 summary.errors.write + summary.errors.timeout
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"requests_per_s":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,' ..
    '"p99_ms":%.3f,"max_ms":%.3f,"errors":%d,"non_2xx":%d}\n',
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000, errors,
    summary.errors.status))
end
