--- JSON decoding into plain Lua values: JSON null becomes nil (so optional fields are simply
--- absent) and integral numbers become integers on Lua 5.3+ (cjson yields floats). Inside
--- Neovim it decodes with vim.json, so a plugin needs no lua-cjson, and a cjson built for
--- another Lua on package.cpath is never loaded.
local tointeger = require("mistralai.compat").tointeger

local M = {}

local raw, null
if type(vim) == "table" and type(vim.json) == "table" then
  null = vim.NIL
  raw = function(text)
    local ok, v = pcall(vim.json.decode, text)
    if ok then return v end
    return nil, tostring(v)
  end
else
  local cjson = require("cjson.safe")
  null = cjson.null
  raw = cjson.decode
end

--- Decodes text as it is (JSON null stays the decoder's null): the value, or nil and why not.
M.decode_raw = raw

local math_type, to_int = math.type, math.tointeger  -- nil before 5.3: no integers to make

-- Drops the nulls and makes integral floats integers, in place, through a decoded table and
-- the tables in it: one pass, no function call per field (the walk is most of a small
-- answer's decoding cost after cjson's own).
local function clean(t)
  for k, x in next, t do
    if x == null then
      t[k] = nil
    elseif type(x) == "table" then
      clean(x)
    elseif to_int and math_type(x) == "float" then
      local i = to_int(x)
      if i then t[k] = i end
    end
  end
  return t
end

--- Returns the value, or nil and the decoder's message.
function M.decode(text)
  local v, err = raw(text)
  if v == nil and err ~= nil then return nil, err end
  if type(v) == "table" then return clean(v) end
  if v == null then return nil end
  return tointeger(v)
end

return M
