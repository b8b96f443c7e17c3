-- make bench-waiting (and make bench): what waiting costs the hosts. Headless Neovim (the
-- mistralai.nvim client) and one nginx worker (mistralai.resty) wait on a local Files API
-- server that answers only after a stall; their CPU and wake-ups are measured against the same
-- host idle, other requests are timed meanwhile, 32 concurrent uploads through the worker
-- are timed against a plain script's client:gather, and the OpenResty relay example moves
-- 200 MiB each way while its worker's RSS and other requests are watched. Rewrites the "## Waiting cost" section of
-- bench/RESULTS.md and exits non-zero, naming them, when targets are missed.
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "build/lua5.4/?.so;" .. package.cpath
local core = require("mistralai.core")
local server = require("mistralai.server")

local WINDOW = 5      -- seconds each waiting host is measured
local RUNS = 3        -- runs of the upload comparison (median)
local UPLOADS, UPLOAD_MIB = 32, 8
local RELAY_MIB = 200  -- each way through examples/openresty/nginx.conf

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return out
end
local root = sh("pwd"):gsub("%s+$", "")
local work = sh("mktemp -d"):gsub("%s+$", "")

local api = server.start{ control = true }
local app = server.start{
  cpath = root .. "/build/luajit/?.so;/usr/lib/x86_64-linux-gnu/lua/5.1/?.so",
  path = root .. "/?.lua",
  main = "thread_pool default threads=4;",
  http = "  lua_shared_dict state 64k;",
  server = "    location = /wait { content_by_lua_block { require('spec.hosts.resty').wait() } }\n"
    .. "    location = /cpu { content_by_lua_block { require('spec.hosts.resty').cpu() } }\n"
    .. "    location = /ping { content_by_lua_block { require('spec.hosts.resty').ping() } }\n"
    .. "    location = /uploads { content_by_lua_block { require('spec.hosts.resty').uploads() } }",
}
local query = ("server=%s&key=%s"):format(api.url, api.api_key)

local function control(what, params)
  local q = {}
  for k, v in pairs(params or {}) do q[#q + 1] = k .. "=" .. tostring(v) end
  sh(("curl -sS '%s/_local/%s?%s' >/dev/null"):format(api.url, what, table.concat(q, "&")))
end
local function stall(times)
  control("reset")
  control("fault", { kind = "stall", seconds = WINDOW + 2, times = times, method = "GET" })
end

local function parse(text)
  local t = {}
  for k, v in text:gmatch("(%S+) ([^\n]*)\n") do t[k] = v end
  return t
end

-- Neovim: idle, then `calls` waiting calls, in one process (spec/hosts/nvim_wait.lua).
local function neovim(calls)
  local plugin = work .. "/plugin"
  sh(("mkdir -p '%s/lua' && cp -r lua/mistralai '%s/lua/' && cp build/luajit/mistralai/core.so '%s/lua/mistralai/'")
    :format(plugin, plugin, plugin))
  stall(calls + 3)  -- the measured calls, and those the script then cancels by close and quit
  local out = work .. "/nvim.out"
  sh(("cd '%s' && MISTRALAI_OUT='%s' MISTRALAI_DIR='%s' MISTRALAI_WINDOW_MS=%d MISTRALAI_CALLS=%d "
    .. "MISTRAL_SERVER_URL='%s' MISTRAL_API_KEY='%s' timeout 120 nvim --headless -u NONE -i NONE "
    .. "--cmd 'set rtp^=%s' -c 'luafile %s/spec/hosts/nvim_wait.lua' -c 'qa!' 2>&1")
    :format(work, out, work, WINDOW * 1000, calls, api.url, api.api_key, plugin, root))
  local r = parse(sh("cat '" .. out .. "'"))
  assert(r.waited_list == "list", "Neovim's calls did not complete")
  return { cpu = tonumber(r.wait_cpu) - tonumber(r.idle_cpu), wakeups = tonumber(r.wait_wakeups) - tonumber(r.idle_wakeups),
    idle_cpu = tonumber(r.idle_cpu), idle_wakeups = tonumber(r.idle_wakeups) }
end

-- nginx: `calls` requests waiting in one worker; its CPU over the window, and pings meanwhile.
local function nginx(calls)
  stall(calls)
  local waiting = io.popen(("for i in $(seq %d); do curl -sS '%s/wait?%s' & done; wait"):format(calls, app.url, query))
  sh("sleep 0.5")
  local cpu0, t0 = tonumber(sh(("curl -sS '%s/cpu'"):format(app.url))), core.now()
  local slowest = 0
  while core.now() - t0 < WINDOW - 0.5 do
    local seconds = tonumber(sh(("curl -sS -o /dev/null -w '%%{time_total}' '%s/ping'"):format(app.url)))
    slowest = math.max(slowest, seconds * 1000)
    sh("sleep 0.2")
  end
  local cpu = tonumber(sh(("curl -sS '%s/cpu'"):format(app.url))) - cpu0
  local elapsed = core.now() - t0
  local answers = waiting:read("*a")
  waiting:close()
  local _, lists = answers:gsub("list\n", "")
  assert(lists == calls, "nginx's waiting requests did not complete: " .. answers:sub(1, 200))
  return { cpu = cpu, share = cpu / elapsed, slowest = slowest }
end

local function median(xs)
  table.sort(xs)
  return xs[math.ceil(#xs / 2)]
end

-- 32 concurrent uploads: through the worker, and from a plain script with client:gather.
local function uploads()
  local file = work .. "/upload.bin"
  sh(("head -c %d /dev/urandom > '%s'"):format(UPLOAD_MIB * 1048576, file))
  local script = work .. "/gather.lua"
  local f = assert(io.open(script, "w"))
  f:write(([[
    package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
    package.cpath = "build/lua5.4/?.so;" .. package.cpath
    local core = require("mistralai.core")
    local client = require("mistralai").new{ server_url = %q, api_key = %q, retry = false }
    local fns = {}
    for i = 1, %d do fns[i] = function() return client.files.upload{ file = %q, file_name = "g-" .. i .. ".bin" } end end
    local t0 = core.now()
    for _, r in ipairs(client:gather(fns, { concurrency = #fns })) do assert(r[1], tostring(r[2])) end
    io.write(("%%.3f"):format(core.now() - t0))
  ]]):format(api.url, api.api_key, UPLOADS, file))
  f:close()
  control("reset")
  local resty, gather = {}, {}
  for i = 1, RUNS do
    resty[i] = tonumber(sh(("curl -sS '%s/uploads?%s&file=%s&n=%d'"):format(app.url, query, file, UPLOADS)))
    gather[i] = tonumber(sh("lua5.4 " .. script))
    assert(resty[i] and gather[i], "an upload run failed")
  end
  return { resty = median(resty), gather = median(gather) }
end

-- The OpenResty relay example, as shipped: 200 MiB up from a request body and down to a client
-- reading at 50 MB/s (spec/hosts/relay.lua).
local function relayed()
  local prefix = sh("mktemp -d"):gsub("%s+$", "")
  local relay = require("hosts.relay").start(root, prefix, api.url, api.api_key)
  local file = prefix .. "/relay.bin"
  sh(("head -c %d /dev/urandom > '%s'"):format(RELAY_MIB * 1048576, file))
  local ok, r = pcall(function()
    local id, bytes, up_grown, up_slowest = relay.upload(file, "relay.bin")
    assert(bytes == RELAY_MIB * 1048576, "the relayed upload stored " .. tostring(bytes) .. " bytes: " .. relay.log())
    local seconds, down_grown, down_slowest = relay.download(id, prefix .. "/relayed.bin", "50M")
    return { up_grown = up_grown, up_slowest = up_slowest, down_grown = down_grown, down_slowest = down_slowest,
      seconds = seconds }
  end)
  relay.stop()
  sh("rm -rf '" .. prefix .. "'")
  if not ok then error(r, 0) end
  return r
end

local ok, section, missed = xpcall(function()
  local nv = { [1] = neovim(1), [20] = neovim(20) }
  local ng = { [1] = nginx(1), [20] = nginx(20), [100] = nginx(100) }
  local up = uploads()
  local relay = relayed()
  local lines, checks, missed = {}, {}, {}
  local function add(s) lines[#lines + 1] = s or "" end
  local function target(what, met, measured)
    checks[#checks + 1] = ("| %s | %s | %s |"):format(what, met and "met" or "missed", measured)
    if not met then missed[#missed + 1] = what .. ": " .. measured end
  end
  add("## Waiting cost")
  add()
  add(("Run by `make bench-waiting` (part of `make bench`) on %s: each host waits %d s on the local server,"):format(os.date("!%Y-%m-%d"), WINDOW))
  add("which answers only after a stall; one run each. Neovim's figures are against the same editor idle in")
  add("the same process (CPU from `/proc/self/stat`, wake-ups = voluntary context switches); nginx's are the")
  add(("worker's CPU while the requests wait, and the slowest of other requests meanwhile. The uploads are the median of %d runs."):format(RUNS))
  add()
  add("| host | calls waiting | CPU spent while waiting | wake-ups | other requests |")
  add("|---|---|---|---|---|")
  add(("| idle Neovim (no call) | 0 | %.2f s | %d | |"):format(nv[1].idle_cpu, nv[1].idle_wakeups))
  for _, n in ipairs({ 1, 20 }) do
    add(("| Neovim, `mistralai.nvim` | %d | %+.2f s | %+d | |"):format(n, nv[n].cpu, nv[n].wakeups))
  end
  for _, n in ipairs({ 1, 20, 100 }) do
    add(("| nginx worker, `mistralai.resty` | %d | %.2f s (%.1f%% of a core) | | slowest %.1f ms |")
      :format(n, ng[n].cpu, ng[n].share * 100, ng[n].slowest))
  end
  add()
  add(("%d concurrent uploads of %d MiB: %.2f s through one nginx worker, %.2f s from a plain script with"):format(UPLOADS, UPLOAD_MIB, up.resty, up.gather)
    .. (" `client:gather` (%.2f× its speed)."):format(up.gather / up.resty))
  add()
  add(("The OpenResty relay (`examples/openresty/nginx.conf`, one worker): %d MiB up from a request body, the"):format(RELAY_MIB)
    .. (" worker's peak RSS +%.1f MiB, other requests answered within %.1f ms; %d MiB down to a client"):format(relay.up_grown, relay.up_slowest, RELAY_MIB)
    .. (" reading at 50 MB/s in %.1f s, +%.1f MiB, within %.1f ms."):format(relay.seconds, relay.down_grown, relay.down_slowest))
  add()
  target("Neovim: one call waiting 5 s costs ≤ 0.01 s of CPU", nv[1].cpu <= 0.01, ("%+.2f s"):format(nv[1].cpu))
  target("Neovim: one call waiting 5 s costs ≤ 50 wake-ups", nv[1].wakeups <= 50, ("%+d"):format(nv[1].wakeups))
  target("nginx: 100 waiting requests cost ≤ 5% of a core", ng[100].share <= 0.05, ("%.1f%%"):format(ng[100].share * 100))
  target("nginx: another request answered in ≤ 10 ms meanwhile", ng[100].slowest <= 10, ("%.1f ms"):format(ng[100].slowest))
  target("nginx: 32 uploads ≥ 0.8× the speed of a plain script's gather", up.gather / up.resty >= 0.8,
    ("%.2f×"):format(up.gather / up.resty))
  target("relay: the worker's peak RSS grows ≤ 16 MiB either way", math.max(relay.up_grown, relay.down_grown) <= 16,
    ("+%.1f MiB at most"):format(math.max(relay.up_grown, relay.down_grown)))
  target("relay: another request answered in ≤ 20 ms meanwhile", math.max(relay.up_slowest, relay.down_slowest) <= 20,
    ("%.1f ms"):format(math.max(relay.up_slowest, relay.down_slowest)))
  add("| target | | measured |")
  add("|---|---|---|")
  for _, c in ipairs(checks) do add(c) end
  add()
  return table.concat(lines, "\n"), missed
end, debug.traceback)
app:stop()
api:stop()
sh("rm -rf '" .. work .. "'")
if not ok then error(section, 0) end

-- The section replaces its old self in bench/RESULTS.md (or goes at the end).
local path = "bench/RESULTS.md"
local f = io.open(path, "rb")
local text = f and f:read("*a") or "# Benchmarks\n\n"
if f then f:close() end
local start = text:find("## Waiting cost\n", 1, true)
if start then
  local stop = text:find("\n## ", start + 1, true)
  text = text:sub(1, start - 1) .. section .. (stop and ("\n" .. text:sub(stop + 1)) or "")
else
  text = text:gsub("\n*$", "\n\n") .. section
end
f = assert(io.open(path, "wb"))
f:write(text)
f:close()
io.write(section, "\n")
if #missed > 0 then
  io.stderr:write("targets missed:\n  " .. table.concat(missed, "\n  ") .. "\n")
  os.exit(1)
end
