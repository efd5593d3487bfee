-- GET /scheduled (or WRK_PATH) with a different bearer token on each request, cycling through
-- the tokens in TOKENS_FILE (one per line, as bench/yardstick/seed.sh writes them).
package.path = os.getenv("WRK_SCRIPTS") .. "/?.lua;" .. package.path
local report = require("report")

local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do
  if #line > 0 then tokens[#tokens + 1] = line end
end
assert(#tokens > 0, "no tokens in TOKENS_FILE")
local path = os.getenv("WRK_PATH") or "/scheduled"

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("offset", threads * 7919)
end

local n = 0
function init()
  n = offset or 0
end

function request()
  n = n + 1
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. tokens[n % #tokens + 1] })
end

done = report.done
