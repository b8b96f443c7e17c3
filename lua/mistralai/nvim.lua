--- mistralai for Neovim plugins: the same options and operations, each taking a callback as
--- its last argument and returning at once. The transfers move on Neovim's event loop: a libuv
--- poll handle on each socket libcurl uses and one timer set from libcurl's timeout, so a call
--- that waits on the network wakes the editor only when a socket is ready or the timer is due.
--- Callbacks run through vim.schedule, so they may call the editor's API.
---
---   local client = require("mistralai.nvim").new{ api_key = ... }
---   local handle = client.files.upload({ file = path, purpose = "fine-tune" }, function(f, err) end)
---   handle.cancel()  -- frees the transfer; the callback gets nil, err with kind "aborted"
local check = require("mistralai.check")
local compat = require("mistralai.compat")
local errors = require("mistralai.errors")
local files_module = require("mistralai.files")

local M = {}

local uv = vim.uv or vim.loop
local pack, unpack = compat.pack, compat.unpack

local open_clients = setmetatable({}, { __mode = "k" })  -- closed when Neovim quits
-- Download reads of 8 KiB: one action of libcurl (up to 100 reads while the socket stays
-- readable) then holds the editor under a millisecond. The 5 ms timer's longest gap through a
-- 200 MiB download to a file, five runs here: 9-14 ms, against 35 ms with the scripts' 64 KiB
-- and 13-20 ms with 16 KiB; the download took 0.3-0.4 s against 0.25.
local READ_BUFFER = 8 * 1024

-- each, callback style: every matching file across all pages, as one list.
local function collect_each(files, ...)
  local all = {}
  for f in files.each(...) do all[#all + 1] = f end
  return all
end

-- A Lua error of the adapter itself (not of an operation): shown in the editor.
local function report(err)
  vim.schedule(function() error(err, 0) end)
end

--- Returns a client whose operations take a callback. Options as for mistralai.new, except
--- sleep, which the event loop provides.
function M.new(opts)
  if type(opts) == "table" and opts.sleep ~= nil then
    check.argerror("new", 1, "option 'sleep' is not for mistralai.nvim: the event loop drives it")
  end
  local inner = require("mistralai").new(opts)
  require("mistralai.client").set_read_buffer(inner, READ_BUFFER)
  local driver = inner:driver()
  local watchers = {}  -- fd -> { poll = handle, generation = "n", events = "r" | "w" | "rw" }
  local timer = uv.new_timer()
  local live = {}      -- task -> its callback, while the operation runs
  local closed = false

  local sync

  -- libcurl's wishes as watchers: a poll handle per socket, one timer.
  local function on_due()
    local ok, err = pcall(driver.step)
    if not ok then report(err) end
    sync()
  end

  local function on_ready(fd)
    return function(err, events)
      local ok, why = pcall(driver.ready, fd, err and "rw" or events)
      if not ok then report(why) end
      sync()
    end
  end

  local function drop(fd)
    local w = watchers[fd]
    watchers[fd] = nil
    w.poll:stop()
    if not w.poll:is_closing() then w.poll:close() end
  end

  sync = function()
    if closed then return end
    local fds, due = driver.watching()
    for fd, w in pairs(watchers) do
      local want = fds[fd]
      if want == nil or want:match(":(%d+)$") ~= w.generation then drop(fd) end
    end
    for fd, want in pairs(fds) do
      local events, generation = want:match("^(%a*):(%d+)$")
      local w = watchers[fd]
      if w == nil then
        w = { poll = uv.new_socket_poll(fd), generation = generation }
        watchers[fd] = w
      end
      if w.events ~= events then
        w.events = events
        if events == "" then w.poll:stop() else w.poll:start(events, on_ready(fd)) end
      end
    end
    timer:stop()
    -- at least 1 ms: a 0 ms timer started from a timer callback would run again in the same
    -- turn of the loop, before any socket is polled
    if due then timer:start(math.max(1, math.ceil(due * 1000)), 0, on_due) end
  end

  local function run(work, callback)
    if closed then check.misuse("the client is closed") end
    local started, raised = false, nil
    local task
    task = driver.spawn(work, function(ok, result)
      live[task] = nil
      if not started and not ok then raised = result return end  -- misuse: raised at the call
      local function deliver()
        if ok then return callback(unpack(result, 1, result.n)) end
        if errors.is_error(result) then return callback(nil, result) end
        -- a sink or progress callback raised: the transfer is freed, the caller is told
        callback(nil, errors.new("aborted", tostring(result), { raised = result }))
      end
      if closed then  -- closing (Neovim may be quitting): no later turn of the loop is certain
        local delivered, err = pcall(deliver)
        if not delivered then report(err) end
      else
        vim.schedule(deliver)
      end
    end)
    live[task] = callback
    driver.step()  -- the first step now: arguments are checked, the transfer starts
    started = true
    if raised ~= nil then error(raised, 3) end
    sync()
    return {
      --- Stops the operation: its transfer is freed at once, the callback gets kind "aborted".
      cancel = function()
        driver.cancel(task, errors.new("aborted", "cancelled"))
        sync()
      end,
    }
  end

  -- download(id, { on_chunk = fn, ... }, callback): the body as a stream read by the task,
  -- each chunk handed to fn in the main loop (so fn may use the editor's API); the transfer
  -- waits, paused, until fn has returned. fn returning false (or raising) stops it.
  local function download_in_chunks(args, n)
    local opts_at = type(args[n]) == "table" and n or (type(args[1]) == "table" and 1)
    local streamed = {}
    for k, v in pairs(args[opts_at]) do streamed[k] = v end
    local on_chunk = streamed.on_chunk
    if type(on_chunk) ~= "function" then check.argerror("download", opts_at, "option 'on_chunk' must be a function") end
    streamed.on_chunk, streamed.stream = nil, true
    local call = { unpack(args, 1, n) }
    call[opts_at] = streamed
    local stream, err, response = inner.files.download(unpack(call, 1, n))
    if not stream then return nil, err end
    while true do
      local chunk, why = stream:read()
      if not chunk then
        if why then return nil, why end
        return true, nil, response
      end
      local hold = { wake = math.huge }  -- a wait the task's driver never ends by itself
      local outcome
      vim.schedule(function()
        outcome = pack(pcall(on_chunk, chunk))
        hold.wake = 0
        pcall(driver.step)
        sync()
      end)
      coroutine.yield(hold)
      if not outcome[1] or outcome[2] == false then
        stream:close()
        local message = not outcome[1] and tostring(outcome[2]) or tostring(outcome[3] or "stopped by on_chunk")
        return nil, errors.new("aborted", message, { raised = not outcome[1] and outcome[2] or nil })
      end
    end
  end

  local files = {}
  for _, op in ipairs(files_module.OPERATIONS) do
    local name = op.name
    files[name] = function(...)
      local args = pack(...)
      local first = 1
      if args[1] == files then first = 2 end
      local callback = args[args.n]
      if type(callback) ~= "function" then
        check.argerror(name, args.n - first + 1, "a callback function is expected last, got " .. type(callback))
      end
      files_module.refuse_stream(name, args, first, args.n - 1, "mistralai.nvim")
      local op_args = { unpack(args, first, args.n - 1) }
      local n = args.n - first
      local chunked = name == "download" and ((type(op_args[n]) == "table" and op_args[n].on_chunk ~= nil)
        or (type(op_args[1]) == "table" and op_args[1].on_chunk ~= nil))
      return run(function()
        if name == "each" then return collect_each(inner.files, unpack(op_args, 1, n)) end
        if chunked then return download_in_chunks(op_args, n) end
        return inner.files[name](unpack(op_args, 1, n))
      end, callback)
    end
  end

  local client = { files = files, server_url = inner.server_url }
  --- Cancels every operation in flight (each callback gets nil, err with kind "aborted", at
  --- once) and frees the connections. Idempotent; Neovim's VimLeavePre does it too.
  function client.close()
    if closed then return end
    closed = true
    for task in pairs(live) do driver.cancel(task, errors.new("aborted", "the client was closed")) end
    for fd in pairs(watchers) do drop(fd) end
    timer:stop()
    if not timer:is_closing() then timer:close() end
    inner:close()
    open_clients[client] = nil
  end
  open_clients[client] = true
  return setmetatable(client, {
    __tostring = function() return "mistralai.nvim " .. tostring(inner) end,
  })
end

vim.api.nvim_create_autocmd("VimLeavePre", {
  desc = "mistralai.nvim: cancel the operations in flight",
  callback = function()
    for client in pairs(open_clients) do client.close() end
  end,
})

return M
