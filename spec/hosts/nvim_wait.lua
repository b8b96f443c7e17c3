-- Runs inside headless Neovim (spec/12-hosts_spec.lua starts it): what a call waiting on a
-- silent server costs the editor against the same editor idle, and what close() and quitting
-- do to operations in flight. The spec queues the server's stalls. Writes "key value" lines
-- to MISTRALAI_OUT.
local out = assert(io.open(os.getenv("MISTRALAI_OUT"), "w"))
local function report(k, v)
  out:write(k, " ", tostring(v), "\n")
  out:flush()
end
local window_ms = tonumber(os.getenv("MISTRALAI_WINDOW_MS"))
local opts = { server_url = os.getenv("MISTRAL_SERVER_URL"), api_key = os.getenv("MISTRAL_API_KEY"), retry = false }
local nvim = require("mistralai.nvim")

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- CPU seconds of the process (utime + stime, in 1/100 s), and voluntary context switches of
-- its main thread: each is a wake-up from a wait.
local function cpu_seconds()
  local fields = {}
  for f in read("/proc/self/stat"):gsub("^.*%) ", ""):gmatch("%S+") do fields[#fields + 1] = f end
  return (tonumber(fields[12]) + tonumber(fields[13])) / 100
end
local function wakeups()
  return tonumber(read("/proc/self/status"):match("\nvoluntary_ctxt_switches:%s*(%d+)"))
end
local function measure()
  local cpu, woken = cpu_seconds(), wakeups()
  vim.wait(window_ms, function() return false end, window_ms)
  return cpu_seconds() - cpu, wakeups() - woken
end

local calls = tonumber(os.getenv("MISTRALAI_CALLS") or "1")
local idle_cpu, idle_wakeups = measure()
local client = nvim.new(opts)
local listed, answered = nil, 0
for _ = 1, calls do  -- each answered after the stall
  client.files.list({ page_size = 1 }, function(page, err)
    listed, answered = { page, err }, answered + 1
  end)
end
local wait_cpu, wait_wakeups = measure()
vim.wait(20000, function() return answered == calls end, 20)
report("idle_cpu", idle_cpu)
report("idle_wakeups", idle_wakeups)
report("wait_cpu", wait_cpu)
report("wait_wakeups", wait_wakeups)
report("waited_list", answered == calls and listed[1] and listed[1].object)

-- close(): every operation in flight ends at once with kind "aborted", and nothing is left
local uploaded
client.files.upload({ file = { file_name = "nvim-close.txt", content = "close" } }, function(f) uploaded = f end)
vim.wait(5000, function() return uploaded ~= nil end, 10)
local target = os.getenv("MISTRALAI_DIR") .. "/closed.bin"
local ended = {}
client.files.download(uploaded.id, { output = target }, function(ok, err) ended.download = { ok, err and err.kind } end)
client.files.list({}, function(page, err) ended.list = { page, err and err.kind } end)
vim.wait(300, function() return false end, 10)  -- both requests are out, the server is silent
client.close()
report("closed_download", ended.download and ended.download[2])
report("closed_list", ended.list and ended.list[2])
report("closed_files_left", #vim.fn.glob(target .. "*", false, true))
client.close()  -- idempotent

-- quitting: VimLeavePre closes the client, and the callback still runs
local leaving = nvim.new(opts)
leaving.files.list({}, function(_, err) report("quit_kind", err and err.kind) end)
report("script_done", true)
