--- JSON decoding into plain Lua values: JSON null becomes nil (so optional fields are simply
--- absent) and integral numbers become integers on Lua 5.3+ (cjson yields floats).
local cjson = require("cjson.safe")

local M = {}

local null = cjson.null
local tointeger = require("mistralai.compat").tointeger

local function clean(v)
  local t = type(v)
  if t == "table" then
    for k, x in pairs(v) do
      if x == null then v[k] = nil else v[k] = clean(x) end
    end
    return v
  elseif t == "number" then
    return tointeger(v)
  elseif v == null then
    return nil
  end
  return v
end

--- Returns the value, or nil and cjson's message.
function M.decode(text)
  local v, err = cjson.decode(text)
  if v == nil and err ~= nil then return nil, err end
  return clean(v)
end

return M
