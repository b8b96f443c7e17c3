-- Loaded by busted before the specs: points package.cpath at the core built for this Lua
-- (or at MISTRALAI_TEST_BUILD, e.g. the sanitizer build), makes the collector aggressive
-- when MISTRALAI_TEST_GC is set, and keeps the sanitizer runtime out of the specs' tools.
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

-- make check-asan preloads the sanitizer runtime into the interpreter. It is for Lua only: a
-- tool started under it can deadlock before main (pgrep does, in ASan's textdomain), so every
-- command a spec starts, through io.popen or os.execute, starts without it.
if os.getenv("LD_PRELOAD") then
  local popen, execute = io.popen, os.execute
  io.popen = function(cmd, ...) return popen("unset LD_PRELOAD; " .. cmd, ...) end  -- luacheck: ignore 122
  os.execute = function(cmd, ...)  -- luacheck: ignore 122
    if cmd == nil then return execute() end
    return execute("unset LD_PRELOAD; " .. cmd, ...)
  end
end
