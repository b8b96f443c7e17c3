--- Argument checks. Misuse raises, worded like Lua's own luaL_argerror
--- ("bad argument #1 to 'upload' (table expected, got nil)") and located at the caller's line.
local encode = require("mistralai.encode")

local M = {}

-- The first stack level outside this rock's own modules: where the mistake was made.
-- (Lua 5.1 shows a tail call as a frame of its own, which has no line to name.)
local function caller_level()
  local level = 3
  while true do
    local info = debug.getinfo(level, "S")
    if info == nil then return 0 end
    if info.what ~= "tail" and not info.source:find("mistralai[/\\][%w_/\\]*%.lua$") then return level - 1 end
    level = level + 1
  end
end

function M.argerror(fname, n, msg)
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), caller_level())
end

--- Misuse that is not one argument's (a closed client, a bad api_key function's answer):
--- "mistralai: " .. msg, raised as it is, since it may surface far from the line at fault.
function M.misuse(msg)
  error("mistralai: " .. msg, 0)
end

function M.arg(fname, n, v, expected)
  if type(v) ~= expected then
    M.argerror(fname, n, expected .. " expected, got " .. type(v))
  end
  return v
end

--- Raises for a key of opts not in allowed (a set).
function M.known(fname, n, opts, allowed)
  for k in pairs(opts) do
    if not allowed[k] then M.argerror(fname, n, "unknown option '" .. tostring(k) .. "'") end
  end
end

function M.option(fname, n, opts, key, expected)
  local v = opts[key]
  if v ~= nil and type(v) ~= expected then
    M.argerror(fname, n, "option '" .. key .. "' must be a " .. expected .. ", got " .. type(v))
  end
  return v
end

--- Raises unless s, which will reach a request line, a header or a multipart part header, is
--- free of CR, LF and NUL: such a byte could end the line and start another (injection).
function M.one_line(fname, n, s, what)
  if s:find("[\r\n%z]") then M.argerror(fname, n, what .. " has CR, LF or NUL in it") end
  return s
end

--- An optional string option that reaches the wire: one line, see one_line.
function M.wire_string(fname, n, opts, key)
  local v = M.option(fname, n, opts, key, "string")
  if v ~= nil then M.one_line(fname, n, v, "option '" .. key .. "'") end
  return v
end

local is_integer = require("mistralai.compat").is_integer
M.is_integer = is_integer

--- The largest count or millisecond figure the core takes (a 32-bit long: 24 days in ms).
M.MAX_COUNT = 2147483647

--- An optional whole number in [min, max].
function M.integer(fname, n, opts, key, min, max)
  local v = opts[key]
  if v == nil then return nil end
  if not is_integer(v) or (min and v < min) or (max and v > max) then
    local range = max and (" from %.0f to %.0f"):format(min, max) or min and (" >= %.0f"):format(min) or ""
    M.argerror(fname, n, "option '" .. key .. "' must be a whole number" .. range .. ", got " .. tostring(v))
  end
  return v
end

--- An optional string or list of strings, as a list.
function M.string_list(fname, n, opts, key)
  local v = opts[key]
  if v == nil then return nil end
  if type(v) == "string" then return { v } end
  if type(v) ~= "table" then
    M.argerror(fname, n, "option '" .. key .. "' must be a string or a list of strings")
  end
  local count = 0
  for k in pairs(v) do  -- a key outside 1..#v, or a hole, would be dropped silently: refused
    count = count + 1
    if not (is_integer(k) and k >= 1 and k <= #v) or count > #v then
      M.argerror(fname, n, "option '" .. key .. "' must be a list (1, 2, ... without holes), got key " .. tostring(k))
    end
  end
  if count ~= #v then M.argerror(fname, n, "option '" .. key .. "' must be a list (1, 2, ... without holes)") end
  for i, s in ipairs(v) do
    if type(s) ~= "string" then
      M.argerror(fname, n, "option '" .. key .. "' item " .. i .. " must be a string")
    end
    M.one_line(fname, n, s, "option '" .. key .. "' item " .. i)
  end
  return v
end

--- A table of extra headers: valid names, no CR, LF or NUL anywhere (header injection).
function M.headers(fname, n, opts, key)
  local h = M.option(fname, n, opts, key, "table")
  if h == nil then return nil end
  for name, value in pairs(h) do
    if type(name) ~= "string" or not encode.is_header_name(name) then
      M.argerror(fname, n, "header name " .. ("%q"):format(tostring(name)) .. " is not a valid token")
    end
    if type(value) ~= "string" then
      M.argerror(fname, n, "header '" .. name .. "' must have a string value")
    end
    M.one_line(fname, n, value, "header '" .. name .. "'")
  end
  return h
end


return M
