--- When and how long to wait before trying a failed request again.
--- Delays follow the official Python SDK: initial_interval * exponent^n plus up to 1 s of
--- jitter (the `jitter` field), capped at max_interval (milliseconds). A Retry-After header
--- wins, also capped, but never waits less than initial_interval.
local check = require("mistralai.check")

local M = {}

M.defaults = {
  initial_interval = 500,
  max_interval = 60000,
  exponent = 1.5,
  max_elapsed_time = 60000,  -- a dead server costs a script one minute, not an hour
  jitter = 1000,             -- up to this much is added at random to each computed wait
  retry_connection_errors = true,
  status_codes = { 429, 500, 502, 503, 504 },
  retry_uploads = false,     -- true: also retry uploads the server may have stored
  max_retries = nil,         -- a number: at most this many retries, within max_elapsed_time
}

-- The core's failures that the same request may get past when tried again: refused or
-- dropped connections, timeouts, name resolution, cut-off bodies. Certificate, protocol and
-- usage errors, and whatever a callback or a local file caused, will not.
local TRANSIENT = {
  resolve_proxy = true, resolve_host = true, connect_failed = true, http2 = true,
  partial_body = true, timed_out = true, tls_connect = true, empty_reply = true,
  send_failed = true, recv_failed = true,
}

-- Each number's range: milliseconds up to the core's 24 days; a growth factor that keeps a
-- wait a wait. NaN and the infinities are outside every range (a NaN exponent once spun a call).
local RANGES = { initial_interval = { 0, check.MAX_COUNT }, max_interval = { 0, check.MAX_COUNT },
  max_elapsed_time = { 0, check.MAX_COUNT }, jitter = { 0, check.MAX_COUNT }, exponent = { 1, 10 },
  max_retries = { 0, check.MAX_COUNT } }

--- Checks a retry option (a table or false) for fname's argument n.
function M.check(fname, n, v)
  if v == nil or v == false then return v end
  if type(v) ~= "table" then check.argerror(fname, n, "option 'retry' must be a table or false") end
  for k, x in pairs(v) do
    local range = RANGES[k]
    if range then
      local whole = k ~= "max_retries" or check.is_integer(x)
      if type(x) ~= "number" or not (whole and x >= range[1] and x <= range[2]) then  -- `not` catches NaN
        check.argerror(fname, n, ("retry.%s must be a number from %d to %d, got %s"):format(k, range[1], range[2],
          tostring(x)))
      end
    elseif k == "retry_connection_errors" or k == "retry_uploads" then
      if type(x) ~= "boolean" then check.argerror(fname, n, "retry." .. k .. " must be a boolean") end
    elseif k == "status_codes" then
      if type(x) ~= "table" then check.argerror(fname, n, "retry.status_codes must be a list") end
      for i, code in pairs(x) do
        local listed = check.is_integer(i) and i >= 1 and i <= #x
        if not (listed and check.is_integer(code) and code >= 100 and code <= 599) then
          check.argerror(fname, n, "retry.status_codes must be a list of HTTP status codes (100 to 599)")
        end
      end
    else
      check.argerror(fname, n, "unknown option 'retry." .. tostring(k) .. "'")
    end
  end
  return v
end

--- The policy in force: per-call fields over the client's over the defaults; nil when off.
function M.merge(client, call)
  if call == false or (call == nil and client == false) then return nil end
  local p = {}
  for k, v in pairs(M.defaults) do p[k] = v end
  for _, layer in ipairs({ client or {}, call or {} }) do
    for k, v in pairs(layer) do p[k] = v end
  end
  local set = {}
  for _, code in ipairs(p.status_codes) do set[code] = true end
  p.status_set = set
  return p
end

local months = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8, Sep = 9,
  Oct = 10, Nov = 11, Dec = 12 }

-- Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm), free of the local zone.
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

--- Seconds to wait that a Retry-After value asks for (delta-seconds or an IMF-fixdate), or nil.
function M.retry_after_seconds(value, now_epoch)
  if value == nil then return nil end
  local secs = tonumber(value:match("^%s*(%d+%.?%d*)%s*$"))
  if secs then return secs end
  local d, mon, y, hh, mm, ss = value:match("^%s*%a+,%s*(%d+)%s+(%a+)%s+(%d+)%s+(%d+):(%d+):(%d+)%s+GMT%s*$")
  if not d or not months[mon] then return nil end
  local epoch = days_from_civil(tonumber(y), months[mon], tonumber(d)) * 86400
    + tonumber(hh) * 3600 + tonumber(mm) * 60 + tonumber(ss)
  return math.max(0, epoch - (now_epoch or os.time()))
end

--- Milliseconds to wait before attempt n+1 after a failed attempt n (1-based), given the failed
--- result, or nil when this failure is not to be retried.
--- spec.idempotent: GET and DELETE may always be repeated; an upload only where the server
--- cannot have stored the file (429, 503, or nothing of the body sent), unless retry_uploads.
function M.delay(p, n, res, spec)
  local err = res.error
  if err then
    if not TRANSIENT[err.name] or not p.retry_connection_errors then return nil end
    if not spec.idempotent and not p.retry_uploads and res.sent > 0 then return nil end
  else
    if not p.status_set[res.status] then return nil end
    if not spec.idempotent and not p.retry_uploads and res.status ~= 429 and res.status ~= 503 then
      return nil
    end
    -- A server's Retry-After may lengthen the wait, never shorten it below the first interval:
    -- "Retry-After: 0" or a date in the past would otherwise make a call hammer it.
    local after = M.retry_after_seconds(res.headers["retry-after"])
    if after then return math.min(math.max(after * 1000, p.initial_interval), p.max_interval) end
  end
  local backoff = p.initial_interval * p.exponent ^ (n - 1) + math.random() * p.jitter
  return math.min(backoff, p.max_interval)
end

return M
