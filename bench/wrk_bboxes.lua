-- wrk script: cycle through the shared bbox list for /collections/hotspots/items.
-- env: BBOX_FILE (one minx,miny,maxx,maxy per line), ITEMS_PATH (default
-- /collections/hotspots/items), LIMIT (default 100), AUTH_TOKEN (optional bearer token),
-- WRK_RESULT_FILE (optional; the done() summary is written there as key=value lines).
local bboxes = {}
for line in io.lines(os.getenv("BBOX_FILE")) do
  if #line > 0 then bboxes[#bboxes + 1] = line end
end
local path = os.getenv("ITEMS_PATH") or "/collections/hotspots/items"
local limit = os.getenv("LIMIT") or "100"
local token = os.getenv("AUTH_TOKEN")
local headers = { ["Accept"] = "application/geo+json, application/json" }
if token and #token > 0 then headers["Authorization"] = "Bearer " .. token end

local threads = {}
local next_id = 0
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local i
function init(args)
  -- threads start at different offsets of the same list and walk it in order
  i = (tid or 0) * math.floor(#bboxes / 2)
end

function request()
  i = i + 1
  local bb = bboxes[(i % #bboxes) + 1]
  return wrk.format("GET", path .. "?bbox=" .. bb .. "&limit=" .. limit, headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  local out = string.format(
    "requests=%d\nduration_s=%.3f\nrps=%.1f\np50_ms=%.3f\np90_ms=%.3f\np99_ms=%.3f\np999_ms=%.3f\nmax_ms=%.3f\nmean_ms=%.3f\n" ..
    "err_connect=%d\nerr_read=%d\nerr_write=%d\nerr_status=%d\nerr_timeout=%d\nbytes=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000, latency.mean / 1000,
    e.connect, e.read, e.write, e.status, e.timeout, summary.bytes)
  local f = os.getenv("WRK_RESULT_FILE")
  if f and #f > 0 then
    local h = assert(io.open(f, "w")); h:write(out); h:close()
  else
    io.write(out)
  end
end
