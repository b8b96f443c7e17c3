--- The error values of failed calls: tables with kind, status, message, body, headers and
--- attempts, printing as one readable line. They never hold the API key: it is never part of
--- a request's URL or body, and request headers are not kept.
local json = require("mistralai.json")

local M = {}

local Error = {}
Error.__index = Error

function Error.__tostring(e)
  local parts = { "mistralai: ", e.kind }
  if e.status then parts[#parts + 1] = " " .. tostring(e.status) end
  parts[#parts + 1] = ": " .. tostring(e.message)
  if e.code then parts[#parts + 1] = " (" .. tostring(e.code) .. ")" end
  if e.attempts and e.attempts > 1 then parts[#parts + 1] = " after " .. e.attempts .. " attempts" end
  return table.concat(parts)
end

--- kind: "http", "network", "timeout", "io", "decode", "aborted", "limit", "invalid" or
--- "integrity".
function M.new(kind, message, fields)
  local e = fields or {}
  e.kind, e.message = kind, message
  return setmetatable(e, Error)
end

function M.is_error(v) return getmetatable(v) == Error end

-- The error kind of each failure the core reports (docs/api.md lists the names); every
-- other failure is "network".
local KIND_OF_FAILURE = {
  timed_out = "timeout",
  cancelled = "aborted", callback_raised = "aborted", callback_refused = "aborted",
  read_failed = "io", write_failed = "io", out_of_memory = "io", too_large = "limit",
}

--- The error for a transfer the core reports as failed (its result's `error`, {name, message}).
function M.from_failure(failure, fields)
  fields.reason = failure.name
  return M.new(KIND_OF_FAILURE[failure.name] or "network", failure.message, fields)
end

-- FastAPI's validation list: "body.purpose: Input should be ..."
local function detail_message(detail)
  if type(detail) == "string" then return detail end
  if type(detail) ~= "table" then return nil end
  local lines, n = {}, 0
  for k in pairs(detail) do  -- a JSON null leaves a hole: read past it
    if type(k) == "number" and k > n then n = k end
  end
  for i = 1, n do
    local d = detail[i]
    if type(d) == "table" and type(d.msg) == "string" then
      local parts = {}  -- whatever the server put in loc: only strings and numbers are shown
      for _, part in ipairs(type(d.loc) == "table" and d.loc or {}) do
        if type(part) == "string" or type(part) == "number" then parts[#parts + 1] = tostring(part) end
      end
      lines[#lines + 1] = #parts > 0 and (table.concat(parts, ".") .. ": " .. d.msg) or d.msg
    end
  end
  return #lines > 0 and table.concat(lines, "; ") or nil
end

--- Reads what an error body says, whichever shape the API used:
--- {"message": ...}, {"detail": "..." | [...]}, {"error": {"message": ...}}.
local function body_message(body)
  local v = json.decode(body)
  if type(v) ~= "table" then return nil end
  local msg = v.message
  if type(msg) ~= "string" then msg = detail_message(v.detail) end
  if type(msg) ~= "string" and type(v.error) == "table" then msg = v.error.message end
  if type(msg) ~= "string" then return nil end
  return msg, v.code ~= nil and tostring(v.code) or nil, type(v.type) == "string" and v.type or nil
end

--- An error for a response that came back with a non-2xx status.
function M.from_status(res)
  local body = res.body or ""
  local msg, code, err_type = body_message(body)
  if not msg then
    local ctype = res.headers["content-type"]
    msg = "HTTP " .. res.status .. (ctype and (" (" .. ctype .. ")") or "")
  end
  return M.new("http", msg, {
    status = res.status, body = body, headers = res.headers, code = code, type = err_type,
  })
end

return M
