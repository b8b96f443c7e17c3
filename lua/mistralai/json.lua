--- JSON decoding, by the core (csrc/json.c), straight into plain Lua values with no pass over
--- them afterwards: JSON null leaves a field out (so optional fields are simply absent) and
--- integral numbers are integers on Lua 5.3+. decode_raw keeps the nulls as the host's JSON null
--- (vim.NIL inside Neovim, so a plugin needs no lua-cjson; cjson.null elsewhere), for checking a
--- line as it was written or writing it out again.
local json_decode = require("mistralai.core").json_decode

local M = {}

local null
if type(vim) == "table" and vim.NIL ~= nil then
  null = vim.NIL
else
  null = require("cjson.safe").null
end

--- Returns the value, or nil and why the text is not JSON (a JSON null alone is nil, no reason).
function M.decode(text)
  if type(text) ~= "string" then return nil, "not a string" end
  return json_decode(text)
end

--- Like decode, with JSON null as the host's null.
function M.decode_raw(text)
  if type(text) ~= "string" then return nil, "not a string" end
  return json_decode(text, null)
end

return M
