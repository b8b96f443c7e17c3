--- The client: options, its private context, and close. The context (API key included) lives
--- in closures and a private table, never in anything reachable from the client table.
local check = require("mistralai.check")
local files = require("mistralai.files")
local driver = require("mistralai.driver")
local errors = require("mistralai.errors")
local retry = require("mistralai.retry")
local redact = require("mistralai.redact")
local tasks = require("mistralai.tasks")

local M = {}

local OPTIONS = {}
for _, k in ipairs({ "api_key", "server_url", "timeout_ms", "headers", "retry", "connect_timeout_ms",
  "stall_bytes_per_s", "stall_timeout_ms", "max_upload_bytes", "max_redirects", "debug", "sleep",
  "ca_file", "ca_path", "proxy", "no_proxy", "max_send_bytes_per_s", "max_recv_bytes_per_s",
  "max_response_bytes", "on_retry" }) do
  OPTIONS[k] = true
end

M.OPTIONS = OPTIONS

--- The defaults of the client's options, in one place (docs/api.md says the same; the
--- spec of defaults checks both).
M.DEFAULTS = {
  connect_timeout_ms = 10000,
  stall_bytes_per_s = 1024,
  stall_timeout_ms = 30000,
  max_upload_bytes = 512 * 1024 * 1024,
  max_redirects = 5,
  max_response_bytes = 4 * 1024 * 1024,
}
local DEFAULTS = M.DEFAULTS

local contexts = setmetatable({}, { __mode = "k" })  -- client -> its private context

local Client = {}
Client.__index = Client

--- The host root: a trailing "/" or "/v1" is dropped, since every path starts with /v1.
local function normalise_server_url(url)
  url = url:gsub("/+$", "")
  url = url:gsub("/v1$", "")
  return url
end

function M.new(opts)
  local F = "new"
  opts = opts or {}
  check.arg(F, 1, opts, "table")
  check.known(F, 1, opts, OPTIONS)
  local key = opts.api_key
  if key == nil then key = os.getenv("MISTRAL_API_KEY") end
  if key ~= nil and type(key) ~= "string" and type(key) ~= "function" then
    check.argerror(F, 1, "option 'api_key' must be a string or a function, got " .. type(key))
  end
  local server_url = check.wire_string(F, 1, opts, "server_url")
    or os.getenv("MISTRAL_SERVER_URL") or "https://api.mistral.ai"
  if not server_url:find("^https?://[^/]") or server_url:find("[\r\n%z]") then
    check.argerror(F, 1, "option 'server_url' must be an http:// or https:// URL")
  end
  -- an option with a default (DEFAULTS), in [min, max]
  local function defaulted(name, min, max) return check.integer(F, 1, opts, name, min, max) or DEFAULTS[name] end
  local ctx = {
    base = normalise_server_url(server_url),
    api_key = type(key) == "function" and key or function() return key end,
    headers = check.headers(F, 1, opts, "headers"),
    timeout_ms = check.integer(F, 1, opts, "timeout_ms", 1, check.MAX_COUNT),
    connect_timeout_ms = defaulted("connect_timeout_ms", 1, check.MAX_COUNT),
    stall_bytes_per_s = defaulted("stall_bytes_per_s", 0, check.MAX_COUNT),
    stall_timeout_ms = defaulted("stall_timeout_ms", 1000, check.MAX_COUNT),
    max_upload_bytes = defaulted("max_upload_bytes", 0, 2 ^ 53),
    max_redirects = defaulted("max_redirects", 0, check.MAX_COUNT),
    max_response_bytes = defaulted("max_response_bytes", 1, check.MAX_COUNT),
    max_send_bytes_per_s = check.integer(F, 1, opts, "max_send_bytes_per_s", 1, check.MAX_COUNT),
    max_recv_bytes_per_s = check.integer(F, 1, opts, "max_recv_bytes_per_s", 1, check.MAX_COUNT),
    retry = retry.check(F, 1, opts.retry),
    debug = check.option(F, 1, opts, "debug", "function"),
    on_retry = check.option(F, 1, opts, "on_retry", "function"),
    sleep = check.option(F, 1, opts, "sleep", "function"),
    ca_file = check.option(F, 1, opts, "ca_file", "string"),
    ca_path = check.option(F, 1, opts, "ca_path", "string"),
    proxy = check.wire_string(F, 1, opts, "proxy"),
    no_proxy = check.wire_string(F, 1, opts, "no_proxy"),
  }
  local client = setmetatable({ server_url = ctx.base, files = files.bind(ctx) }, Client)
  contexts[client] = ctx
  return client
end

--- Frees the client's connections. Idempotent; the connection cache is also freed when the
--- client is collected, and on Lua 5.4 when a `local c <close>` goes out of scope.
function Client:close()
  local ctx = contexts[self]
  if ctx and not ctx.closed then
    ctx.closed = true
    if ctx.multi then ctx.multi:close() end
  end
end
Client.__close = Client.close

--- Runs the functions at once, each in a task of its own in which every operation of this
--- client yields while it waits, at most `concurrency` (default 8) at a time. Returns
--- results with results[i] = table.pack(fns[i]()); a function that raises gives
--- { nil, err, n = 2 } and does not stop the others.
function Client:gather(fns, opts)
  local F = "gather"
  check.arg(F, 1, fns, "table")
  for i, fn in ipairs(fns) do
    if type(fn) ~= "function" then check.argerror(F, 1, "item " .. i .. " must be a function, got " .. type(fn)) end
  end
  opts = opts or {}
  check.arg(F, 2, opts, "table")
  check.known(F, 2, opts, { concurrency = true })
  local concurrency = check.integer(F, 2, opts, "concurrency", 1) or 8
  local ctx = contexts[self]
  if ctx.closed then check.misuse("the client is closed") end
  local d = driver.of(ctx)
  local results, next_index, active = {}, 1, 0
  while true do
    if ctx.closed then  -- closed by one of them: what has not started never will
      for i = next_index, #fns do results[i] = { nil, errors.new("aborted", "the client was closed"), n = 2 } end
      next_index = #fns + 1
    end
    while next_index <= #fns and active < concurrency do
      local i = next_index
      next_index, active = i + 1, active + 1
      d.spawn(fns[i], function(ok, r)
        active = active - 1
        results[i] = ok and r or { nil, r, n = 2 }
      end)
    end
    local left, wake = tasks.run_ready(ctx)
    if left == 0 and next_index > #fns then break end
    if active == concurrency or next_index > #fns then d.wait(wake) end
  end
  return results
end

--- For host adapters: the read buffer of downloads to a file, a sink or a stream (default
--- 64 KiB). libcurl reads up to 100 of them in one action, so a smaller one bounds how long an
--- action holds the host's loop: mistralai.nvim uses 8 KiB (the editor's 5 ms timer then
--- ticks within ~15 ms through a 200 MiB download, against 35 ms; scripts keep the faster 64).
function M.set_read_buffer(client, bytes)
  contexts[client].read_buffer_bytes = bytes
end

--- For host adapters whose callers run in threads of their own (mistralai.resty): await(t)
--- returns once transfer t:ready(), sleep(seconds) waits between attempts; both in the
--- caller's thread, while the adapter moves the transfers.
function M.set_host_waits(client, await, sleep)
  local ctx = contexts[client]
  ctx.host_await, ctx.host_sleep = await, sleep
end

--- The client's driver, for hosts that run it on an event loop of their own (mistralai.nvim,
--- or yours: docs/hosts.md). One per client, a table of five functions:
---   spawn(fn, on_done) -> task: runs fn() as a task in which this client's operations yield
---     instead of blocking; on_done(true, packed results) or on_done(false, error) when it ends.
---     The first step runs at the next step().
---   cancel(task, err): stops a task; its transfer is freed, on_done gets (false, err).
---   watching() -> { [fd] = "r" | "w" | "rw" .. ":" .. generation }, seconds until step() is due
---     (nil: no timer): what the loop should watch, and until when.
---   ready(fd, events): a watched descriptor is ready; step(): the time is due. Both move the
---     transfers without blocking, resume what can go on, and return the tasks left and the
---     seconds until step() is due.
function Client:driver()
  local ctx = contexts[self]
  if not ctx.host_driver then
    local d = driver.of(ctx)
    ctx.host_driver = { spawn = d.spawn, cancel = d.cancel, watching = d.watching, ready = d.ready, step = d.step }
  end
  return ctx.host_driver
end

function Client:__tostring()
  local ctx = contexts[self]
  return ("mistralai client (%s%s)"):format(redact.url(self.server_url), ctx and ctx.closed and ", closed" or "")
end

return M
