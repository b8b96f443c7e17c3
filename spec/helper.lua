-- Loaded by busted before the specs: points package.cpath at the core built for this Lua
-- (or at MISTRALAI_TEST_BUILD, e.g. the sanitizer build), and makes the collector aggressive
-- when MISTRALAI_TEST_GC is set.
local lua = os.getenv("MISTRALAI_TEST_LUA")
if not lua then
  lua = jit and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
end
local build = os.getenv("MISTRALAI_TEST_BUILD") or ("build/" .. lua)
package.cpath = build .. "/?.so;" .. package.cpath
if os.getenv("MISTRALAI_TEST_GC") then
  collectgarbage("setpause", 0)     -- a new cycle as soon as one ends
  collectgarbage("setstepmul", 1000)
end
