--- mistralai for OpenResty (and nginx with lua-nginx-module): the same options, operations
--- and results as mistralai.new, called the same way in a request handler or a timer. Each
--- call runs in its caller's light thread, which waits on an ngx.semaphore wherever the call
--- waits for its transfer (so a download stream's read and an upload's reader run there too,
--- and may use the request's own socket); one pump per client and worker (a background timer)
--- moves every transfer of the client, so waiting costs the same for 1 request as for 100.
--- While nothing moves, the pump waits in nginx's thread pool "default" (`thread_pool default
--- threads=N;` in nginx.conf), in poll() on the sockets libcurl waits on
--- (ngx.run_worker_thread): no wake-up at all until a socket or libcurl's timer is due.
--- Without that pool it sleeps between looks, longer while nothing moves (1 to 16 ms). While
--- bytes flow it acts on them, yielding to nginx every few ms. The client makes nothing until
--- its first call, so one may be created at module level; connections are per worker.
---   local client = require("mistralai.resty").new{ api_key = os.getenv("MISTRAL_API_KEY") }
local check = require("mistralai.check")
local compat = require("mistralai.compat")
local files_module = require("mistralai.files")
local cancel = require("mistralai.cancel")

local M = {}

local THREAD_POOL = "default"
local LEASE = 1            -- seconds: a waiting caller shows it is alive this often
local GONE_AFTER = 3 * LEASE
local LONGEST_WAIT = LEASE -- the pump looks at its callers at least this often
-- libcurl's timers that are not due at once (each transfer's once-a-second stall check) are
-- served this late at most, so the timers of many transfers share one wake-up of the pump
local TIMER_SLACK = 0.05
local BUSY_SLICE = 0.002   -- seconds the pump works on flowing bytes before it yields to nginx
-- without the thread pool: the pump's sleeps, from right after activity to long idle
local SLEEP_MIN, SLEEP_MAX = 0.001, 0.016

local pack, unpack = compat.pack, compat.unpack

function M.new(opts)
  opts = opts or {}
  check.arg("new", 1, opts, "table")
  if opts.sleep ~= nil then
    check.argerror("new", 1, "option 'sleep' is not for mistralai.resty: its pump waits on the sockets")
  end
  local core = require("mistralai.core")
  local semaphore = require("ngx.semaphore")
  local inner = require("mistralai").new(opts)
  local driver = inner:driver()
  -- transfer -> { sema, seen }: the callers waiting for a transfer to be ready. Weak: a caller
  -- that is collected takes its transfer with it.
  local waiting = setmetatable({}, { __mode = "k" })
  local pumping, waker, closed = false, nil, false
  local thread_pool = true  -- until nginx says it has none

  -- Wakes the callers whose transfer is ready; closes the transfers whose callers went away
  -- (a finished request, a killed light thread): a transfer nobody waits for does not run on.
  local function serve_callers()
    local now = ngx.now()
    for t, w in pairs(waiting) do
      if t:ready() then
        waiting[t] = nil
        w.sema:post(1)
      elseif now - w.seen > GONE_AFTER then
        waiting[t] = nil
        t:close()
      end
    end
  end

  -- Waits until a socket is ready or `seconds` passed; returns the ready sockets.
  local idle_sleep = SLEEP_MIN
  local function wait(fds, seconds)
    if thread_pool then
      local ms = math.ceil(seconds * 1000)
      local ok, ready = ngx.run_worker_thread(THREAD_POOL, "mistralai.poll_thread", "wait", fds, ms, waker:fd())
      if ok then return ready end
      if not tostring(ready):find("not found", 1, true) then error("mistralai.resty: " .. tostring(ready)) end
      thread_pool = false
    end
    ngx.sleep(math.max(SLEEP_MIN, math.min(idle_sleep, seconds)))
    idle_sleep = math.min(idle_sleep * 2, SLEEP_MAX)
    return core.poll(fds, 0)
  end

  local function pump(premature)
    ngx.update_time()
    local yielded_at = ngx.now()
    while not premature and not closed and next(waiting) do
      driver.step()
      serve_callers()
      local fds, due = driver.watching()
      local ready = core.poll(fds, 0)
      local busy = next(ready) ~= nil
      if not busy then
        ready = wait(fds, math.min(due and due > 0 and due + TIMER_SLACK or due or LONGEST_WAIT, LONGEST_WAIT))
      end
      for fd, events in pairs(ready) do driver.ready(fd, events) end
      ngx.update_time()
      serve_callers()
      if not busy then
        yielded_at = ngx.now()
      else
        idle_sleep = SLEEP_MIN
        if ngx.now() - yielded_at >= BUSY_SLICE then  -- let nginx serve its other events
          ngx.sleep(SLEEP_MIN)
          yielded_at = ngx.now()
        end
      end
    end
    pumping = false
  end

  local function ensure_pump()
    waker = waker or core.waker()
    if pumping then
      waker:wake()  -- a new or resumed transfer: the pump must watch its sockets too
      return
    end
    local ok, err = ngx.timer.at(0, pump)
    if not ok then error("mistralai.resty: cannot start the pump: " .. tostring(err)) end
    pumping = true
  end

  -- An operation runs in its caller's light thread; where it waits for a transfer, the caller
  -- sleeps on a semaphore, renewing its lease, until the pump finds the transfer ready.
  local function await(t)
    if t:ready() then return end
    local w = { sema = semaphore.new(), seen = ngx.now() }
    waiting[t] = w
    ensure_pump()
    while waiting[t] == w do
      w.sema:wait(LEASE)
      w.seen = ngx.now()
    end
  end
  require("mistralai.client").set_host_waits(inner, await, ngx.sleep)

  -- A cancel handle given to an operation wakes the pump, so the cancel is seen at once.
  local function wake_on_cancel(args)
    for i = 1, args.n do
      local handle = type(args[i]) == "table" and args[i].cancel
      if cancel.is_handle(handle) then
        waker = waker or core.waker()
        handle.wakers[waker] = true
      end
    end
  end

  local files = {}
  for _, op in ipairs(files_module.OPERATIONS) do
    local inner_op = inner.files[op.name]
    files[op.name] = function(first, ...)
      local args = first == files and pack(...) or pack(first, ...)
      if closed then check.misuse("the client is closed") end
      wake_on_cancel(args)
      return inner_op(unpack(args, 1, args.n))
    end
  end

  local client = setmetatable({ files = files, server_url = inner.server_url }, {
    __index = {
      --- Runs the functions at once, each in a light thread of its own, at most `concurrency`
      --- (default 8) at a time; results as mistralai's gather gives them.
      gather = function(_, fns, gather_opts)
        check.arg("gather", 1, fns, "table")
        gather_opts = gather_opts or {}
        check.arg("gather", 2, gather_opts, "table")
        check.known("gather", 2, gather_opts, { concurrency = true })
        local concurrency = check.integer("gather", 2, gather_opts, "concurrency", 1) or 8
        local results, next_index = {}, 1
        local function worker()
          while next_index <= #fns do
            local i = next_index
            next_index = i + 1
            local r = pack(pcall(fns[i]))
            results[i] = r[1] and pack(unpack(r, 2, r.n)) or { nil, r[2], n = 2 }
          end
        end
        local threads = {}
        for k = 1, math.min(concurrency, #fns) do threads[k] = ngx.thread.spawn(worker) end
        for _, thread in ipairs(threads) do ngx.thread.wait(thread) end
        return results
      end,
      --- Ends every operation in flight with kind "aborted" and frees the connections.
      close = function()
        if closed then return end
        closed = true
        for t, w in pairs(waiting) do  -- each caller gets its transfer back, cancelled
          waiting[t] = nil
          t:cancel()
          w.sema:post(1)
        end
        inner:close()
        if waker then waker:close() end
      end,
    },
    __tostring = function() return "mistralai.resty " .. tostring(inner) end,
  })
  return client
end

return M
