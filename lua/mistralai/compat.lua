--- What differs between Lua 5.1 (and LuaJIT) and 5.4, in one place.
local M = {}

M.pack = table.pack or function(...) return { n = select("#", ...), ... } end
M.unpack = table.unpack or unpack  -- luacheck: ignore 143

--- Is v a whole number (not NaN, not infinite)?
function M.is_integer(v)
  return type(v) == "number" and v == math.floor(v) and v > -math.huge and v < math.huge
end

--- pcall where a function called under it may yield (5.2+, LuaJIT); nil on PUC Lua 5.1,
--- where a yield cannot cross pcall.
M.yieldable_pcall = (_VERSION ~= "Lua 5.1" or rawget(_G, "jit") ~= nil) and pcall or nil

--- Runs a shell command; true when it exited with status 0 (5.1 returns the raw status,
--- 5.2+ true/nil, "exit"/"signal", code).
function M.execute(cmd)
  local ok, how, code = os.execute(cmd)
  if type(ok) == "number" then return ok == 0 end
  return ok == true and how == "exit" and code == 0
end

return M
