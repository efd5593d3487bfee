-- POST /signup, request phase, as a crowd behind a load balancer: every request has a phone
-- number and a client address (X-Forwarded-For; the server runs with TRUST_PROXY=1) that no
-- other request of the run uses, so no limit is reached with the default limits.
-- Numbers: +9198 <thread digit> <7-digit counter>, valid Indian mobile numbers.
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
  local body = string.format('{"name":"Bench","phone_number":"+9198%d%07d"}', tid % 10, n)
  local client = string.format("10.%d.%d.%d", tid % 250, math.floor(n / 250) % 250, n % 250 + 1)
  return wrk.format("POST", "/signup", { ["Content-Type"] = "application/json", ["X-Forwarded-For"] = client }, body)
end

done = report.done
