--- The local Files API server: Debian's nginx with lua-nginx-module, run from a private
--- prefix on 127.0.0.1, with the handlers of mistralai.server.handlers (and, when started
--- with control = true, the test controls of mistralai.server.control).
---   local server = require("mistralai.server").start{ port = 8080 }  -- port optional
---   print(server.url, server.api_key) ... server:stop()
--- or, until Ctrl-C (make server): require("mistralai.server").run{ port = 8080 }
local M = {}

M.DEFAULT_API_KEY = "local-test-key"

-- The Lua tree this file was loaded from (as mistralai/server/init.lua in the source tree,
-- mistralai/server.lua once luarocks installed it): nginx loads the handlers from there too.
local source = debug.getinfo(1, "S").source
local LUA_DIR = source:match("^@(.*)[/\\]mistralai[/\\]server[/\\]init%.lua$")
  or source:match("^@(.*)[/\\]mistralai[/\\]server%.lua$") or "."

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local run = require("mistralai.compat").execute

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function is_root()
  local p = io.popen("id -u")
  local uid = p:read("*l")
  p:close()
  return uid == "0"
end

-- MISTRALAI_NGINX when set, then Debian's and OpenResty's paths (/usr/sbin is often not on a
-- user's PATH), then whatever PATH finds.
local function find_nginx()
  local paths = { "/usr/sbin/nginx", "/usr/local/openresty/nginx/sbin/nginx" }
  local chosen = os.getenv("MISTRALAI_NGINX")
  if chosen and chosen ~= "" then table.insert(paths, 1, chosen) end  -- not a nil entry: ipairs stops at one
  for _, path in ipairs(paths) do
    if exists(path) then return path end
  end
  return "nginx"
end

local MODULES = { "/usr/lib/nginx/modules/ndk_http_module.so", "/usr/lib/nginx/modules/ngx_http_lua_module.so" }

local function config(o)
  local lines = {}
  local function add(s) lines[#lines + 1] = s end
  if is_root() then add("user root root;") end  -- the workers must reach the private prefix
  add("worker_processes 1;")  -- the file index lives in the worker's memory
  add("daemon on;")
  add("pid " .. o.prefix .. "/nginx.pid;")
  add("error_log " .. o.prefix .. "/logs/error.log warn;")
  for _, m in ipairs(MODULES) do  -- OpenResty has the Lua module built in
    if exists(m) then add("load_module " .. m .. ";") end
  end
  if o.main then add(o.main) end  -- extra main-level lines (a thread_pool for hosted apps)
  add("events { worker_connections 1024; }")
  add("http {")
  add("  access_log off;")
  if o.access_log then  -- one line a request: which connection, which protocol (specs count them)
    add("  log_format mistralai '$connection $connection_requests $server_protocol $request_method $request_uri"
      .. " $status';")
  end
  for _, t in ipairs({ "client_body", "proxy", "fastcgi", "uwsgi", "scgi" }) do
    add(("  %s_temp_path %s/tmp/%s;"):format(t, o.prefix, t))
  end
  add(('  lua_package_path "%s%s/?.lua;%s/?/init.lua;;";'):format(o.path and (o.path .. ";") or "", LUA_DIR, LUA_DIR))
  add(('  lua_package_cpath "%s;;";'):format(o.cpath))
  add("  lua_socket_buffer_size 256k;")
  add("  client_max_body_size 0;")  -- the handler enforces the file size limit itself
  add("  client_body_buffer_size 256k;")
  add("  sendfile on;")
  add("  keepalive_requests 1000000;")
  add("  keepalive_timeout 75s;")
  if o.http then add(o.http) end  -- extra http-level lines, for hosting other locations
  add("  init_worker_by_lua_block {")
  add(("    require('mistralai.server.handlers').init{ api_key = %q, data_dir = %q, max_file_bytes = %d,"
    .. " secret = %q, control = %s, scheme = %q }"):format(o.api_key, o.data_dir, o.max_file_bytes, o.secret,
    tostring(o.control), o.tls and "https" or "http"))
  add("  }")
  -- lua-nginx-module (0.10.23 in Debian 12) gives no request socket on HTTP/2, and the upload
  -- handler streams its body from that socket: with http2 the server the clients reach relays
  -- every request, unbuffered both ways, to the handlers' server on HTTP/1.1 over a unix socket.
  local relay = o.tls and o.tls.http2
  if relay then
    add("  upstream mistralai_handlers { server unix:" .. o.prefix .. "/handlers.sock; keepalive 16; }")
  end
  add("  server {")
  if o.tls then
    add(("    listen %s:%d ssl%s;"):format(o.host, o.port, relay and " http2" or ""))
    add("    ssl_certificate " .. o.tls.cert .. ";")
    add("    ssl_certificate_key " .. o.tls.key .. ";")
    -- nginx 1.22 leaves TLS 1.3 out unless told; the real API, speaking HTTP/2, speaks it
    if relay then add("    ssl_protocols TLSv1.2 TLSv1.3;") end
  else
    add(("    listen %s:%d;"):format(o.host, o.port))
  end
  if o.access_log then add("    access_log " .. o.access_log .. " mistralai;") end
  if relay then
    add("    location / {")
    add("      proxy_pass http://mistralai_handlers;")
    add("      proxy_http_version 1.1;")
    add('      proxy_set_header Connection "";')
    add("      proxy_set_header Host $http_host;")
    add("      proxy_request_buffering off;")  -- an upload streams through as it arrives
    add("      proxy_buffering off;")
    add("      proxy_read_timeout 1h;")  -- the client's own limits judge a slow answer, not the relay
    add("      proxy_send_timeout 1h;")
    add("      proxy_hide_header X-Local-Connection;")  -- the clients' connection, not the relay's
    add("      add_header X-Local-Connection $connection always;")
    add("    }")
    add("  }")
    add("  server {")
    add("    listen unix:" .. o.prefix .. "/handlers.sock;")
  else
    add("    add_header X-Local-Connection $connection always;")  -- lets specs see connection reuse
  end
  if o.server then add(o.server) end  -- extra server-level lines (locations)
  add("    location /v1/files { content_by_lua_block { require('mistralai.server.handlers').files() } }")
  add("    location /signed/ { content_by_lua_block { require('mistralai.server.handlers').signed() } }")
  if o.control then  -- the test controls; without them /_local/ is an unknown route like any other
    add("    location /_local/echo/ { content_by_lua_block { require('mistralai.server.control').echo() } }")
    add("    location /_local/ { content_by_lua_block { require('mistralai.server.control').control() } }")
  end
  add("    location /_blobs/ { internal; alias " .. o.data_dir .. "/blobs/;"
    .. " types { } default_type application/octet-stream; }")
  add("    location / { content_by_lua_block { require('mistralai.server.handlers').no_route() } }")
  add("  }")
  add("}")
  return table.concat(lines, "\n") .. "\n"
end

local function prepare(opts)
  opts = opts or {}
  local o = {
    host = "127.0.0.1",
    port = opts.port,
    api_key = opts.api_key or M.DEFAULT_API_KEY,
    max_file_bytes = opts.max_file_bytes or 512 * 1024 * 1024,
    control = opts.control == true,
    cpath = opts.cpath or "/usr/lib/x86_64-linux-gnu/lua/5.1/?.so",
    tls = opts.tls,  -- { cert = path, key = path, http2 = true? }: serve HTTPS (HTTP/2 too when asked)
    main = opts.main, http = opts.http, server = opts.server, path = opts.path,
    secret = ("%08x%08x"):format(math.random(0, 0x7fffffff), os.time()),
  }
  o.prefix = opts.prefix
  if not o.prefix then  -- a private one, under TMPDIR, removed by stop()
    local p = io.popen("mktemp -d \"${TMPDIR:-/tmp}/mistralai-server.XXXXXX\"")
    o.prefix = assert(p:read("*l"), "cannot create a temporary folder")
    p:close()
    o.own_prefix = true
  end
  o.data_dir = opts.data_dir or (o.prefix .. "/data")
  if opts.access_log then o.access_log = o.prefix .. "/logs/access.log" end
  local dirs = {}
  for _, d in ipairs({ "/logs", "/conf", "/tmp" }) do dirs[#dirs + 1] = quote(o.prefix .. d) end
  dirs[#dirs + 1] = quote(o.data_dir .. "/blobs")
  dirs[#dirs + 1] = quote(o.data_dir .. "/meta")
  assert(run("mkdir -p " .. table.concat(dirs, " ")), "cannot create " .. o.prefix)
  return o
end

local function command(o)
  -- a socket file left by an nginx that died, or that failed to bind the port, would stop this one
  if o.tls and o.tls.http2 then os.remove(o.prefix .. "/handlers.sock") end
  local f = assert(io.open(o.prefix .. "/conf/nginx.conf", "wb"))
  f:write(config(o))
  f:close()
  return ("%s -p %s -c conf/nginx.conf -e %s"):format(quote(find_nginx()), quote(o.prefix),
    quote(o.prefix .. "/logs/error.log"))
end

local Server = {}
Server.__index = Server

--- Starts nginx in the background. Returns a server: url, port, api_key, prefix, data_dir, pid,
--- and :stop(). Without a port, a free one is found. Options: port, api_key, max_file_bytes,
--- data_dir, prefix, control (the test endpoints), tls = { cert =, key =, http2 = true? } (HTTPS;
--- with http2, HTTP/2 for clients that offer it by ALPN, HTTP/1.1 for the others), access_log
--- (true: logs/access.log under the prefix, a line a request: "$connection
--- $connection_requests $server_protocol $request_method $request_uri $status"; the server's
--- access_log field names it), cpath and path (Lua search paths for nginx, before the
--- defaults), http and server (extra nginx config lines for those blocks: other locations to
--- host).
function M.start(opts)
  opts = opts or {}
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
  local o = prepare(opts)
  for _ = 1, opts.port and 1 or 50 do
    o.port = opts.port or math.random(20000, 60000)
    -- With daemon on, nginx binds before it detaches: success here means it is listening.
    if run(command(o) .. " 2>" .. quote(o.prefix .. "/logs/start.log")) then
      local pid
      for _ = 1, 500 do  -- the detached master writes its pid file a moment later
        pid = tonumber(read(o.prefix .. "/nginx.pid"))
        if pid then break end
        run("sleep 0.01")
      end
      assert(pid, "nginx started but wrote no pid file in " .. o.prefix)
      return setmetatable({
        url = (o.tls and "https://" or "http://") .. o.host .. ":" .. o.port, port = o.port, api_key = o.api_key,
        prefix = o.prefix, data_dir = o.data_dir, pid = pid, own_prefix = o.own_prefix, access_log = o.access_log,
      }, Server)
    end
    local log = read(o.prefix .. "/logs/start.log") or ""
    if not log:find("Address already in use", 1, true) then
      error("the local server did not start: " .. log, 2)
    end
  end
  if opts.port then error(("port %d is taken"):format(opts.port), 2) end
  error("the local server found no free port", 2)
end

local function alive(pid) return run("kill -0 " .. pid .. " 2>/dev/null") end

--- Stops nginx and waits for it to exit; a prefix the server made itself is removed with its
--- files (a data_dir given by the caller stays). Idempotent.
function Server:stop()
  if not self.pid then return end
  run("kill -TERM " .. self.pid .. " 2>/dev/null")
  for _ = 1, 1000 do
    if not alive(self.pid) then break end
    run("sleep 0.01")
  end
  self.pid = nil
  if self.own_prefix then run("rm -rf " .. quote(self.prefix)) end
end

--- The log nginx and the handlers wrote, for diagnosing a failed spec.
function Server:log() return read(self.prefix .. "/logs/error.log") or "" end

-- Where `make server` keeps its files across restarts: $DATA_DIR, else
-- $XDG_STATE_HOME/mistralai-server, else ~/.local/state/mistralai-server.
local function default_data_dir()
  local dir = os.getenv("DATA_DIR")
  if dir and dir ~= "" then return dir end
  local state = os.getenv("XDG_STATE_HOME")
  if not state or state == "" then state = (os.getenv("HOME") or ".") .. "/.local/state" end
  return state .. "/mistralai-server"
end

-- Does the server answer HTTP? (Any status will do: nginx and the handlers are up.)
local function answers(url)
  local p = io.popen("curl -sk -o /dev/null -w '%{http_code}' --max-time 5 " .. quote(url .. "/v1/files")
    .. " 2>/dev/null")
  local code = p and p:read("*a") or ""
  if p then p:close() end
  return code:match("^[1-5]%d%d$") ~= nil
end

--- Runs the server until interrupted (Ctrl-C): `make server`. It prints the URL only once the
--- server answers; when nginx does not start (a port taken, nginx or its Lua module missing)
--- it says why in one line on stderr and returns false. Files stay in data_dir across
--- restarts (default_data_dir above). Returns true after a clean stop.
function M.run(opts)
  opts = opts or {}
  opts.port = opts.port or 8080
  opts.data_dir = opts.data_dir or default_data_dir()
  run("mkdir -p " .. quote(opts.data_dir))
  local ok, server = pcall(M.start, opts)
  local why = not ok and tostring(server):gsub("^[^:]*:%d+: ", ""):gsub("%s+$", ""):gsub("\n.*", "")
  if ok and not answers(server.url) then
    why = "nginx started but does not answer at " .. server.url
    server:stop()
  end
  if why then
    io.stderr:write("mistralai local server: ", why, "\n")
    return false
  end
  io.stderr:write(("mistralai local Files API server on %s (API key %s, data in %s); Ctrl-C stops it\n")
    :format(server.url, server.api_key, server.data_dir))
  io.stderr:write(("  export MISTRAL_SERVER_URL=%s MISTRAL_API_KEY=%s\n"):format(server.url, server.api_key))
  pcall(function()  -- until Ctrl-C: it ends the sleep, or the interpreter raises "interrupted!"
    repeat
      local done, how = os.execute("sleep 3600")
    until how == "signal" or (type(done) == "number" and done ~= 0)
  end)
  server:stop()
  return true
end

return M
