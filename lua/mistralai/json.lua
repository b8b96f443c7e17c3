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

--- Returns the value, or nil and the decoder's message.
function M.decode(text)
  local v, err = raw(text)
  if v == nil and err ~= nil then return nil, err end
  return clean(v)
end

return M
