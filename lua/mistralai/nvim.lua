--- mistralai for Neovim plugins: the same options and operations, each taking a callback as
--- its last argument and returning at once; the transfers move on Neovim's event loop (a
--- vim.loop timer steps them while any is in flight) and callbacks run through vim.schedule,
--- so they may call the editor's API.
---
---   local client = require("mistralai.nvim").new{ api_key = ... }
---   local handle = client.files.upload({ file = path, purpose = "fine-tune" }, function(f, err) end)
---   handle:cancel()  -- frees the transfer; the callback gets nil, err with kind "aborted"
local check = require("mistralai.check")
local compat = require("mistralai.compat")
local errors = require("mistralai.errors")
local files_module = require("mistralai.files")

local M = {}

local uv = vim.uv or vim.loop
local TICK_MS = 1  -- how often the timer steps the transfers while any is in flight

local pack, unpack = compat.pack, compat.unpack

-- each, callback style: every matching file across all pages, as one list.
local function collect_each(files, ...)
  local all = {}
  for f in files.each(...) do all[#all + 1] = f end
  return all
end

--- Returns a client whose operations take a callback. Options as for mistralai.new, except
--- sleep, which the event loop provides.
function M.new(opts)
  if type(opts) == "table" and opts.sleep ~= nil then
    check.argerror("new", 1, "option 'sleep' is not for mistralai.nvim: the event loop drives it")
  end
  local inner = require("mistralai").new(opts)
  local driver = inner:driver()
  local timer, ticking = nil, false

  local function tick()
    local ok, left = pcall(driver.step)
    if not ok or left == 0 then
      timer:stop()
      ticking = false
      if not ok then vim.schedule(function() error(left, 0) end) end
    end
  end

  local function run(work, callback)
    local started, raised = false, nil
    local task = driver.spawn(work, function(ok, result)
      if not started and not ok then raised = result return end  -- misuse: raised at the call
      vim.schedule(function()
        if ok then return callback(unpack(result, 1, result.n)) end
        if errors.is_error(result) then return callback(nil, result) end
        -- a sink or progress callback raised: the transfer is freed, the caller is told
        callback(nil, errors.new("aborted", tostring(result), { raised = result }))
      end)
    end)
    driver.step()  -- the first step now: arguments are checked, the transfer starts
    started = true
    if raised ~= nil then error(raised, 3) end
    if not task.done and not ticking then
      timer = timer or uv.new_timer()
      timer:start(TICK_MS, TICK_MS, tick)
      ticking = true
    end
    return {
      --- Stops the operation: its transfer is freed at once, the callback gets kind "aborted".
      cancel = function() driver.cancel(task, errors.new("aborted", "cancelled")) end,
    }
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
      local op_args = { unpack(args, first, args.n - 1) }
      local n = args.n - first
      return run(function()
        if name == "each" then return collect_each(inner.files, unpack(op_args, 1, n)) end
        return inner.files[name](unpack(op_args, 1, n))
      end, callback)
    end
  end

  local client = { files = files, server_url = inner.server_url }
  --- Frees the connections; transfers in flight are cancelled. Idempotent.
  function client.close()
    if timer then
      timer:stop()
      if not timer:is_closing() then timer:close() end
    end
    inner:close()
  end
  return setmetatable(client, {
    __tostring = function() return "mistralai.nvim " .. tostring(inner) end,
  })
end

return M
