-- wrk script: GET random tiles from a list of existing tile paths.
-- env: TILE_FILE (one request path per line, e.g. /tiles/<survey>/21/1636712/925171.png),
--      AUTH_TOKEN (optional bearer token), TILE_SEED (default 1; each thread adds its id),
--      WRK_RESULT_FILE (optional; the done() summary is written there as key=value lines).
-- Every thread draws uniformly at random (with replacement) from the whole list, so the load
-- covers all zooms in proportion to their tile counts (mostly the native zoom), as a map
-- client panning at full resolution would.
local paths = {}
for line in io.lines(os.getenv("TILE_FILE")) do
  if #line > 0 then paths[#paths + 1] = line end
end
local token = os.getenv("AUTH_TOKEN")
local seed = tonumber(os.getenv("TILE_SEED") or "1")
local headers = { ["Accept"] = "image/png,image/*" }
if token and #token > 0 then headers["Authorization"] = "Bearer " .. token end

local next_id = 0
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end

function init(args)
  math.randomseed(seed * 7919 + (tid or 0))
end

function request()
  return wrk.format("GET", paths[math.random(#paths)], headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  local out = string.format(
    "requests=%d\nduration_s=%.3f\nrps=%.1f\np50_ms=%.3f\np90_ms=%.3f\np99_ms=%.3f\np999_ms=%.3f\nmax_ms=%.3f\nmean_ms=%.3f\n" ..
    "err_connect=%d\nerr_read=%d\nerr_write=%d\nerr_status=%d\nerr_timeout=%d\nbytes=%d\ntiles=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000, latency.mean / 1000,
    e.connect, e.read, e.write, e.status, e.timeout, summary.bytes, #paths)
  local f = os.getenv("WRK_RESULT_FILE")
  if f and #f > 0 then
    local h = assert(io.open(f, "w")); h:write(out); h:close()
  else
    io.write(out)
  end
end
