-- Loaded by busted before the specs: points package.cpath at the core built for this Lua.
local lua = os.getenv("MISTRALAI_TEST_LUA")
if not lua then
  lua = jit and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
end
package.cpath = "build/" .. lua .. "/?.so;" .. package.cpath
