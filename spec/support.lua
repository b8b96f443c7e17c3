-- What the specs share: the local server started by scripts/run-tests, clients for it, and
-- small file and process helpers.
local mistralai = require("mistralai")

local S = {}

S.url = os.getenv("MISTRALAI_TEST_SERVER_URL")
  or error("no local server: run the specs with `make test` (scripts/run-tests)")
S.api_key = os.getenv("MISTRALAI_TEST_API_KEY")

--- A client for the local server; opts are passed through.
function S.client(opts)
  opts = opts or {}
  if opts.server_url == nil then opts.server_url = S.url end
  if opts.api_key == nil then opts.api_key = S.api_key end
  return mistralai.new(opts)
end

--- A client whose requests the server echoes back (method, uri, header, body) as JSON.
function S.echo_client(opts)
  opts = opts or {}
  opts.server_url = S.url .. "/_local/echo"
  return S.client(opts)
end

-- Starts a shell command, its output to be read from the handle.
function S.popen(cmd)
  return assert(io.popen(cmd))
end

-- Runs a shell command and returns its output.
local function sh(cmd)
  local p = S.popen(cmd)
  local out = p:read("*a")
  p:close()
  return out
end
S.sh = sh

function S.tmpdir()
  local dir = sh("mktemp -d"):gsub("%s+$", "")
  assert(dir ~= "", "mktemp -d failed (disk full?)")  -- never "": a spec would write in the repository
  return dir
end

function S.write(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  return path
end

function S.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

function S.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

function S.sha256_file(path)
  return sh("sha256sum '" .. path .. "'"):match("^(%x+)")
end

--- A file of n random bytes.
function S.random_file(path, n)
  sh(("head -c %d /dev/urandom > '%s'"):format(n, path))
  return path
end

function S.ls(dir)
  local names = {}
  for name in sh("ls -A '" .. dir .. "'"):gmatch("[^\n]+") do names[#names + 1] = name end
  table.sort(names)
  return names
end

--- This process's peak resident set, in KiB, since the last reset_peak_rss().
function S.peak_rss_kib()
  return tonumber(S.read("/proc/self/status"):match("VmHWM:%s*(%d+)"))
end

function S.reset_peak_rss()
  S.write("/proc/self/clear_refs", "5")
end

--- The inodes of the machine's TCP sockets, as a set (the tenth field of /proc/net/tcp*).
function S.tcp_inodes()
  local set = {}
  for _, table_file in ipairs({ "/proc/net/tcp", "/proc/net/tcp6" }) do
    for line in (S.read(table_file) or ""):gmatch("[^\n]+") do
      local inode = line:match("^%s*%d+:%s+%S+%s+%S+%s+%S+%s+%S+%s+%S+%s+%S+%s+%S+%s+%S+%s+(%d+)")
      if inode then set[inode] = true end
    end
  end
  return set
end

--- What a leak would leave open in this process: TCP connections and files (not pipes,
--- event descriptors or the socketpairs libraries keep or close on their own threads).
function S.open_resources()
  local tcp = S.tcp_inodes()
  local n = 0
  for target in sh("for f in /proc/$PPID/fd/*; do readlink $f; done"):gmatch("[^\n]+") do
    local inode = target:match("^socket:%[(%d+)%]$")
    if (inode and tcp[inode]) or (target:find("^/") and target ~= "/dev/null") then n = n + 1 end
  end
  return n
end

--- Open file descriptors of this process (the shell popen starts is its child: $PPID).
function S.fd_count()
  local n = tonumber(sh("ls -A /proc/$PPID/fd | wc -l"))
  assert(n and n > 3, "cannot count the open descriptors")
  return n
end

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

--- Runs a Lua chunk in a new interpreter of the Lua under test and returns its standard
--- output and error. opts: env (extra variables; false unsets one), prefix (a command to run
--- it under, such as "timeout 10"), plain (the regular build without any sanitizer runtime,
--- for running what a user would run, tools included).
function S.run_lua(code, opts)
  opts = opts or {}
  local unsets, assigns = {}, {}
  for k, v in pairs(opts.env or {}) do
    if v == false then unsets[#unsets + 1] = "-u " .. k else assigns[#assigns + 1] = k .. "=" .. shell_quote(v) end
  end
  local lua = os.getenv("MISTRALAI_TEST_LUA") or "lua5.4"
  local build = not opts.plain and os.getenv("MISTRALAI_TEST_BUILD") or ("build/" .. lua)
  -- the sanitizer build needs its runtime, which spec/helper.lua keeps out of other commands
  local preload = not opts.plain and os.getenv("LD_PRELOAD")
  if preload then assigns[#assigns + 1] = "LD_PRELOAD=" .. shell_quote(preload) end
  local prelude = ("package.path = 'lua/?.lua;lua/?/init.lua;spec/?.lua;' .. package.path; "
    .. "package.cpath = '%s/?.so;' .. package.cpath; "):format(build)
  return sh(("%s env %s %s %s -e %s 2>&1"):format(opts.prefix or "", table.concat(unsets, " "),
    table.concat(assigns, " "), lua, shell_quote(prelude .. code)))
end

local encode = require("mistralai.encode")

--- Calls a test control of the local server (/_local/<what>?params) and decodes its answer.
function S.control(what, params)
  local q = {}
  for k, v in pairs(params or {}) do q[#q + 1] = { k, tostring(v) } end
  table.sort(q, function(a, b) return a[1] < b[1] end)
  local out = sh(("curl -sS '%s/_local/%s?%s'"):format(S.url, what, encode.query(q)))
  return require("mistralai.json").decode(out)
end

--- Queues a fault: S.fault{ kind = "status", status = 503, times = 2, ... }
function S.fault(params) return S.control("fault", params) end

--- Forgets queued faults and the request log.
function S.reset() return S.control("reset") end

--- The API requests the server received since the last reset: { {method, uri, at}, ... }
function S.requests() return S.control("requests") end

--- Seconds between consecutive requests of the log.
function S.gaps(log)
  local gaps = {}
  for i = 2, #log do gaps[#gaps + 1] = log[i].at - log[i - 1].at end
  return gaps
end

--- Does s contain the plain text needle?
function S.has(s, needle) return s:find(needle, 1, true) ~= nil end

return S
