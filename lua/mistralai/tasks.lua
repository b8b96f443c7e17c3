--- Coroutines that share one client's transfers. An operation running inside a task yields
--- what it waits for, the transfer or a wake-up time, instead of blocking; the driver (gather,
--- or Neovim's event loop) steps the client's multi handle and resumes whichever task can go
--- on. The yielding happens here, in Lua, between steps: no function called from C yields.
local core = require("mistralai.core")

local M = {}

local compat = require("mistralai.compat")
local pack, unpack = compat.pack, compat.unpack

--- The scheduler of a client context (one per context, created on first use).
local function scheduler(ctx)
  local s = ctx.scheduler
  if not s then
    s = { tasks = {}, by_co = setmetatable({}, { __mode = "k" }) }
    ctx.scheduler = s
  end
  return s
end

--- Is the running coroutine one of ctx's tasks? Then await and pause yield.
function M.current(ctx)
  local s = ctx.scheduler
  local co = coroutine.running()
  return s ~= nil and co ~= nil and s.by_co[co] ~= nil
end

--- Waits, inside a task, until transfer t is ready (done, or a stream's chunk is there).
function M.await(t)
  while not t:ready() do coroutine.yield(t) end
end

-- Is a pause over early: its cancel handle used, or its client closed?
local function cut_short(pause)
  return (pause.cancel and pause.cancel.cancelled) or (pause.ctx ~= nil and pause.ctx.closed)
end

--- Waits, inside a task, for the given seconds, or until the cancel handle is cancelled or
--- ctx's client closed.
function M.pause(ctx, seconds, cancel)
  local pause = { wake = core.now() + seconds, cancel = cancel, ctx = ctx }
  while core.now() < pause.wake and not cut_short(pause) do coroutine.yield(pause) end
end

-- The time a task waits for (nil: it waits for a transfer); 0 once its pause is cut short.
local function wake_of(w)
  if type(w) ~= "table" then return nil end
  return cut_short(w) and 0 or w.wake
end

--- Starts fn() as a task, run at the next run_ready; on_done(ok, packed results or error) is
--- called when it ends. Returns the task (see cancel).
function M.spawn(ctx, fn, on_done)
  local s = scheduler(ctx)
  local task = { co = coroutine.create(fn), on_done = on_done, fresh = true }
  s.by_co[task.co] = task
  s.tasks[#s.tasks + 1] = task
  return task
end

local function finish(s, task, ok, result)
  for i, t in ipairs(s.tasks) do
    if t == task then table.remove(s.tasks, i) break end
  end
  s.by_co[task.co] = nil
  task.done = true
  task.on_done(ok, result)
end

local function resume(s, task)
  task.fresh = nil
  local out = pack(coroutine.resume(task.co))
  if coroutine.status(task.co) == "dead" then
    if out[1] then finish(s, task, true, pack(unpack(out, 2, out.n)))
    else finish(s, task, false, out[2]) end
  else
    task.waiting = out[2]  -- a transfer, a pause ({wake, cancel}), or anything else: go on next time
  end
end

--- Stops a task: its transfer is closed (freed at once), and it ends with kind "aborted".
function M.cancel(ctx, task, err)
  if task.done then return end
  local s = scheduler(ctx)
  if type(task.waiting) == "userdata" then task.waiting:close() end
  finish(s, task, false, err)
end

--- Seconds until the first task that waits for the clock wants it (nil: none does).
function M.next_wake(ctx)
  local s, wake = ctx.scheduler, nil
  for _, task in ipairs(s and s.tasks or {}) do
    local w = wake_of(task.waiting)
    if w and (wake == nil or w < wake) then wake = w end
  end
  return wake and math.max(0, wake - core.now())
end

-- Can the task go on now?
local function ready(task, now)
  local w = task.waiting
  if task.fresh or w == nil then return true end
  if type(w) == "userdata" then return w:ready() end
  return (wake_of(w) or 0) <= now
end

--- Resumes every task that can go on. Returns how many tasks are left, and how long the
--- driver may wait before some task wants the clock (nil: only network activity will do).
function M.run_ready(ctx)
  local s = scheduler(ctx)
  local now = core.now()
  for _, task in ipairs({ unpack(s.tasks) }) do
    if not task.done and ready(task, now) then resume(s, task) end
  end
  -- after every resume: one task may have cancelled another's transfer or pause
  local wait
  now = core.now()
  for _, task in ipairs(s.tasks) do
    local left
    if ready(task, now) then
      left = 0
    else
      local wake = wake_of(task.waiting)
      left = wake and math.max(0, wake - now)
    end
    if left then wait = wait and math.min(wait, left) or left end
  end
  return #s.tasks, wait
end

return M
