-- POST /signup, request phase, as a crowd behind a load balancer: every request has a phone
-- number and a client address (X-Forwarded-For; the server runs with TRUST_PROXY=1) that no
-- other request of the run uses, so no limit is reached with the default limits.
-- Numbers: +9198 <4-digit range> <thread digit> <3 digits>, valid Indian mobile numbers.
package.path = os.getenv("WRK_SCRIPTS") .. "/?.lua;" .. package.path
local report = require("report")

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local n = 0
function request()
  n = n + 1
  -- The number range (all but the last 4 digits) changes with every request, so that
  -- OTP_PER_PREFIX_PER_HOUR is checked but not reached: 10 000 ranges × 10 threads.
  local body = string.format('{"name":"Bench","phone_number":"+9198%04d%d%03d"}', n % 10000, tid % 10, math.floor(n / 10000) % 1000)
  local client = string.format("10.%d.%d.%d", tid % 250, math.floor(n / 250) % 250, n % 250 + 1)
  return wrk.format("POST", "/signup", { ["Content-Type"] = "application/json", ["X-Forwarded-For"] = client }, body)
end

done = report.done
