-- Runs examples/openresty/nginx.conf as shipped, in real nginx, against a Files API server, and
-- measures its relays: the worker's peak RSS growth and the slowest answer of another request
-- meanwhile. Used by spec/12-hosts_spec.lua and bench/waiting.lua.
local M = {}

local URL = "http://127.0.0.1:8090"  -- the example's listen address
M.url = URL

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return out
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

--- Starts the example under prefix (a fresh folder), root being the repository, the workers
--- talking to api_url with api_key. Returns the relay: { url, prefix, log(), peak_kib(),
--- reset_peak(), while_pinging(cmd), stop() }.
function M.start(root, prefix, api_url, api_key)
  sh(("chmod 755 '%s' && ln -s '%s/lua' '%s/lua' && mkdir -p '%s/build' '%s/logs' && ln -s '%s/build/luajit' '%s/build/luajit'")
    :format(prefix, root, prefix, prefix, prefix, root, prefix))
  local nginx = sh("command -v nginx || echo /usr/sbin/nginx"):gsub("%s+$", "")
  local out = sh(("MISTRAL_API_KEY='%s' MISTRAL_SERVER_URL='%s' %s -p '%s' -c '%s/examples/openresty/nginx.conf' 2>&1")
    :format(api_key, api_url, nginx, prefix, root))
  local master
  for _ = 1, 100 do
    master = tonumber(read(prefix .. "/logs/nginx.pid") or "")
    if master then break end
    sh("sleep 0.02")
  end
  assert(master, "nginx did not start: " .. out)
  local worker = sh("pgrep -P " .. master):match("(%d+)")
  local relay = { url = URL, prefix = prefix }
  function relay.log() return read(prefix .. "/logs/error.log") or "" end
  function relay.peak_kib() return tonumber(read("/proc/" .. worker .. "/status"):match("VmHWM:%s*(%d+)")) end
  function relay.reset_peak()
    local f = assert(io.open("/proc/" .. worker .. "/clear_refs", "w"))
    f:write("5")
    f:close()
  end
  --- Runs cmd in the background while pinging the worker; returns cmd's output and the
  --- slowest ping in ms.
  function relay.while_pinging(cmd)
    local done = prefix .. "/done"
    os.remove(done)
    local job = assert(io.popen("(" .. cmd .. "); touch '" .. done .. "'"))
    local slowest = 0
    while not exists(done) do
      local seconds = tonumber(sh(("curl -sS -o /dev/null -w '%%{time_total}' '%s/ping'"):format(URL)))
      slowest = math.max(slowest, seconds * 1000)
      sh("sleep 0.05")
    end
    local answer = job:read("*a")
    job:close()
    return answer, slowest
  end
  --- Relays file up; returns the new file's id, its bytes, the worker's RSS growth (MiB) and
  --- the slowest ping (ms).
  function relay.upload(file, name)
    relay.reset_peak()
    local before = relay.peak_kib()
    local answer, slowest = relay.while_pinging(("curl -sS --data-binary @'%s' '%s/upload?name=%s'"):format(file, URL, name))
    local id, bytes = answer:match("^(%S+) (%d+)\n$")
    return id, tonumber(bytes), (relay.peak_kib() - before) / 1024, slowest, answer
  end
  --- Relays file id down to target, the client reading at rate (curl's syntax); returns the
  --- seconds it took, the worker's RSS growth (MiB) and the slowest ping (ms).
  function relay.download(id, target, rate)
    relay.reset_peak()
    local before = relay.peak_kib()
    local p = assert(io.popen("date +%s.%N"))
    local t0 = tonumber(p:read("*a"))
    p:close()
    local _, slowest = relay.while_pinging(("curl -sS --limit-rate %s -o '%s' '%s/files/%s'"):format(rate, target, URL, id))
    p = assert(io.popen("date +%s.%N"))
    local seconds = tonumber(p:read("*a")) - t0
    p:close()
    return seconds, (relay.peak_kib() - before) / 1024, slowest
  end
  function relay.stop() sh("kill " .. master) end
  return relay
end

return M
