--- The one driver of a client's transfers and tasks: every way of waiting goes through it.
--- libcurl says which sockets to watch and when its timer is due (the core keeps both), so a
--- host wakes only for those:
---   - a blocking script waits in C, in poll() on those sockets until the timer;
---   - an operation inside a task yields to whatever runs the tasks: gather (which waits as a
---     blocking script does), Neovim (libuv poll handles and one timer), OpenResty, or any event
---     loop through the interface below (docs/hosts.md);
---   - a client with a `sleep` option looks once, then sleeps through the host, longer while
---     nothing happens (the host's sleep knows time only, not sockets);
---   - a host adapter whose callers run in threads of its own (OpenResty's light threads) waits
---     through ctx.host_await and ctx.host_sleep (client.set_host_waits), its pump moving the
---     transfers.
local core = require("mistralai.core")
local tasks = require("mistralai.tasks")

local M = {}

-- sleep mode: the first sleep after activity, and the longest while nothing happens
local SLEEP_MIN, SLEEP_MAX = 0.001, 0.016
local WAIT_MAX = 3600  -- seconds one blocking wait may last; a wait loops on anyway
local CANCEL_CHECK = 0.05  -- sleep mode: how often a pause between attempts looks for a cancel

local function min(a, b)
  if a == nil then return b end
  if b == nil then return a end
  return a < b and a or b
end

--- The driver of a client context, made on first use. Its multi handle is made at the first
--- transfer: nothing is created before a host (an nginx master) forks its workers.
function M.of(ctx)
  if ctx.driver then return ctx.driver end
  local d = {}
  ctx.driver = d
  local idle_sleep = SLEEP_MIN

  function d.multi()
    if not ctx.multi then ctx.multi = core.multi() end
    return ctx.multi
  end

  --- Lets the transfers move, for up to `seconds` or until one finishes, outside any task.
  function d.wait(seconds)
    if ctx.closed then return end  -- closing let every transfer go: nothing is left to wait for
    local multi = d.multi()
    seconds = seconds or WAIT_MAX
    if not ctx.sleep then
      multi:wait(seconds)
      return
    end
    local _, finished, timer, ready = multi:wait(0)
    if finished > 0 then
      idle_sleep = SLEEP_MIN
      return
    end
    ctx.sleep(math.min(idle_sleep, timer or idle_sleep, seconds))
    -- longer sleeps only while nothing moves: bytes flowing keep the steps short
    idle_sleep = ready > 0 and SLEEP_MIN or math.min(idle_sleep * 2, SLEEP_MAX)
  end

  --- Waits until transfer t is ready (done, or a stream's chunk is there): inside a task by
  --- yielding to its driver, elsewhere by waiting on the network itself.
  function d.await(t)
    if tasks.current(ctx) then return tasks.await(t) end
    if ctx.host_await then return ctx.host_await(t) end
    idle_sleep = SLEEP_MIN
    while not t:ready() do d.wait() end
  end

  --- Waits between attempts without holding up the client's other tasks; a cancel handle
  --- (mistralai.cancel) ends the wait early where anything else can run meanwhile.
  function d.pause(seconds, cancel)
    if tasks.current(ctx) then return tasks.pause(ctx, seconds, cancel) end
    local sleep = ctx.host_sleep or ctx.sleep
    if not (sleep and cancel) then return (sleep or core.sleep)(seconds) end
    -- the host's sleep may run the canceller: look at the handle every CANCEL_CHECK seconds
    local wake = core.now() + seconds
    while not cancel.cancelled and core.now() < wake do
      sleep(math.min(CANCEL_CHECK, wake - core.now()))
    end
  end

  -- The host interface: client:driver() hands out these five (docs/api.md, docs/hosts.md).

  function d.spawn(fn, on_done) return tasks.spawn(ctx, fn, on_done) end

  function d.cancel(task, err) tasks.cancel(ctx, task, err) end

  --- Resumes the tasks that can go on. Returns how many are left, and the seconds until the
  --- driver wants to be called again at the latest (libcurl's timer, a task's wake-up; nil:
  --- only a socket will move anything).
  local function resume()
    local left, wake = tasks.run_ready(ctx)
    return left, min(wake, ctx.multi and not ctx.closed and ctx.multi:timer() or nil)
  end

  --- The time is due (or the host just wants to look): acts on libcurl's timer, resumes tasks.
  function d.step()
    if ctx.multi and not ctx.closed then ctx.multi:act() end
    return resume()
  end

  --- A watched socket is ready for events ("r", "w", "rw").
  function d.ready(fd, events)
    if ctx.multi and not ctx.closed then ctx.multi:act(fd, events) end
    return resume()
  end

  --- What to watch: { [fd] = "r" | "w" | "rw" .. ":" .. generation }, and the seconds until
  --- d.step() is due at the latest (nil: no timer). A new generation on a descriptor is a new
  --- socket: drop the watcher of the old one before watching it.
  function d.watching()
    local fds, timer = {}, nil
    if ctx.multi and not ctx.closed then fds, timer = ctx.multi:watching() end
    return fds, min(timer, tasks.next_wake(ctx))
  end

  return d
end

return M
