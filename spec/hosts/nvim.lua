-- Runs inside headless Neovim (spec/12-hosts_spec.lua starts it). Uploads, lists, downloads
-- and cancels through mistralai.nvim against the local server while a vim.loop timer ticks,
-- then does the same upload blocking, for contrast. Writes "key value" lines to MISTRALAI_OUT.
local uv = vim.loop
local out = assert(io.open(os.getenv("MISTRALAI_OUT"), "w"))
local function report(k, v) out:write(k, " ", tostring(v), "\n") end

local path = os.getenv("MISTRALAI_FILE")
local size = tonumber(os.getenv("MISTRALAI_FILE_SIZE"))
local opts = { server_url = os.getenv("MISTRAL_SERVER_URL"), api_key = os.getenv("MISTRAL_API_KEY") }
local client = require("mistralai.nvim").new(opts)

-- a timer that notes the longest gap between its ticks while a transfer runs
local ticks, longest, last, busy = 0, 0, uv.hrtime(), false
local timer = uv.new_timer()
timer:start(0, 5, function()
  local now = uv.hrtime()
  if busy then
    ticks = ticks + 1
    longest = math.max(longest, (now - last) / 1e6)
  end
  last = now
end)

local done = false

-- on_chunk: each chunk in the main loop (the transfer held back meanwhile), then one that
-- returns false and so stops its download; then next().
local function on_chunks(id, next)
  local chunked, in_main = 0, true
  client.files.download(id, { on_chunk = function(chunk)
    chunked = chunked + #chunk
    in_main = in_main and pcall(vim.api.nvim_get_current_buf)
  end }, function(ok, err)
    report("chunked_ok", ok)
    report("chunked_error", err)
    report("chunked_bytes", chunked)
    report("chunked_in_main_loop", in_main)
    client.files.download(id, { on_chunk = function() return false end }, function(rok, rerr)
      report("chunked_refused", (rerr and rerr.kind or "nil") .. " " .. tostring(rok ~= nil))
      next()
    end)
  end)
end

-- a cancelled download frees its transfer and reports "aborted", leaving no file
local function cancel_one(id)
  local cancelled = path .. ".cancelled"
  local handle = client.files.download(id, { output = cancelled }, function(ok, err)
    report("cancel_result", ok)
    report("cancel_kind", err and err.kind)
    report("cancel_left_file", io.open(cancelled, "rb") ~= nil)
    done = true
  end)
  handle.cancel()
end

busy = true
local returned_at = uv.hrtime()
client.files.upload({ file = path, purpose = "batch" }, function(f, err)
  busy = false
  report("upload_error", err)
  report("upload_bytes", f and f.bytes)
  report("in_main_loop", pcall(vim.api.nvim_get_current_buf))  -- scheduled: the editor API works
  report("ticks", ticks)
  report("longest_gap_ms", ("%.1f"):format(longest))
  client.files.list({ search = "nvim-", page_size = 10 }, function(page, lerr)
    report("list_error", lerr)
    report("listed", page and #page.data)
    local target = path .. ".back"
    ticks, longest, last, busy = 0, 0, uv.hrtime(), true
    client.files.download(f.id, { output = target }, function(ok, derr)
      busy = false
      report("download_ticks", ticks)
      report("download_longest_gap_ms", ("%.1f"):format(longest))
      report("download_error", derr)
      report("download_ok", ok)
      local got = io.open(target, "rb")
      report("download_bytes", got and got:seek("end"))
      if got then got:close() end
      on_chunks(f.id, function() cancel_one(f.id) end)
    end)
  end)
end)
report("returned_ms", ("%.1f"):format((uv.hrtime() - returned_at) / 1e6))
report("stream_refused", select(2, pcall(client.files.download, "x", { stream = true }, function() end)))

vim.wait(120000, function() return done end, 5)
report("done", done)

-- the same upload with the blocking client: the timer cannot tick meanwhile
local blocking = require("mistralai").new(opts)
ticks, longest, last, busy = 0, 0, uv.hrtime(), true
local started = uv.hrtime()
local f = blocking.files.upload{ file = path, purpose = "batch" }
vim.wait(20, function() return false end, 5)  -- let the timer run once more
busy = false
report("blocking_upload_ms", ("%.1f"):format((uv.hrtime() - started) / 1e6))
report("blocking_longest_gap_ms", ("%.1f"):format(longest))
report("blocking_bytes", f and f.bytes)
report("size", size)
blocking:close()
client.close()
timer:stop()
out:close()
