--- mistral-files' progress display on stderr: one bar redrawn in place, or, for transfers run
--- side by side, a line per running transfer and a total line under them. Every line fits the
--- terminal's width (it never wraps), and clear() takes whatever is drawn off the screen.
local now = require("mistralai.core").now

local M = {}

--- Bytes in human units: 512 B, 1.5 MiB.
function M.human(bytes)
  if bytes == nil then return "?" end
  local units = { "B", "KiB", "MiB", "GiB", "TiB" }
  local n, u = bytes, 1
  while n >= 1024 and u < #units do n, u = n / 1024, u + 1 end
  return u == 1 and ("%d B"):format(n) or ("%.1f %s"):format(n, units[u])
end
local human = M.human

-- The terminal's width in columns: $COLUMNS, else what stty reads off stderr, else 80.
local function terminal_width()
  local n = tonumber(os.getenv("COLUMNS") or "")
  if not n then
    local p = io.popen("stty size 0<&2 2>/dev/null")
    local out = p and p:read("*a") or ""
    if p then p:close() end
    n = tonumber(out:match("^%d+ (%d+)"))
  end
  return (n and n >= 10) and n or 80
end

-- One line of at most `columns` bytes: label, bar, percent, bytes, rate, time left. To fit, the
-- bar shrinks from 24 columns to 5, then the rate and time go, then the bar, then the label
-- shortens (a "~" where it was cut), then the end goes.
local function bar_line(label, done, total, seconds, columns)
  local rate = done / math.max(seconds, 1e-6)
  local line
  if total and total > 0 then
    local fraction = math.min(done / total, 1)
    local percent = math.floor(fraction * 100)
    local left = rate > 0 and (total - done) / rate or 0
    local tail = (" %3d%% %s / %s %s/s ETA %ds"):format(percent, human(done), human(total), human(rate),
      math.floor(left + 0.5))
    if columns - #label - #tail - 3 < 10 then tail = (" %3d%% %s / %s"):format(percent, human(done), human(total)) end
    local width = math.min(24, columns - #label - #tail - 3)
    local bar = ""
    if width >= 5 then
      local filled = math.floor(fraction * width + 0.5)
      bar = " [" .. ("#"):rep(filled) .. ("."):rep(width - filled) .. "]"
    end
    line = label .. bar .. tail
  else
    line = ("%s %s %s/s"):format(label, human(done), human(rate))
  end
  if #line > columns then
    local over = #line - columns
    line = (label:sub(1, math.max(1, #label - over - 1)) .. "~" .. line:sub(#label + 1)):sub(1, columns)
  end
  return line
end

-- Lines drawn and not yet ended, for clear().
local drawn = 0

--- Takes off the screen what is drawn and not ended (on Ctrl-C, before a retry's message).
function M.clear()
  if drawn > 0 then io.stderr:write("\r", drawn > 1 and ("\27[" .. (drawn - 1) .. "A") or "", "\27[J") end
  drawn = 0
end

--- A progress function for one transfer: a bar redrawn in place, ended by a newline at 100%.
function M.bar(label)
  local started, columns = now(), terminal_width() - 1  -- filling the last column wraps on some terminals
  return function(done, total)
    io.stderr:write("\r", bar_line(label, done, total, now() - started, columns), "\27[K")
    drawn = 1
    if total and done >= total then
      io.stderr:write("\n")
      drawn = 0
    end
    io.stderr:flush()
  end
end

--- A board for `count` transfers run side by side: board.slot(label) gives a transfer's
--- progress function, board.finish(slot_fn) marks it ended (done or failed), board.close()
--- leaves the last total line on the screen.
function M.board(count)
  local started, columns = now(), terminal_width() - 1
  local slots, ended = {}, 0
  local board = {}
  local function draw()
    local out, lines, sum, sum_total = {}, 0, 0, 0
    if drawn > 1 then out[1] = "\27[" .. (drawn - 1) .. "A" end
    for _, s in ipairs(slots) do
      sum, sum_total = sum + s.done, sum_total + (s.total or 0)
      if not s.ended then
        out[#out + 1] = "\r" .. bar_line(s.label, s.done, s.total, now() - s.started, columns) .. "\27[K\n"
        lines = lines + 1
      end
    end
    out[#out + 1] = "\r" .. bar_line(("%d/%d files"):format(ended, count), sum, sum_total, now() - started, columns)
      .. "\27[J"
    io.stderr:write(table.concat(out))
    io.stderr:flush()
    drawn = lines + 1
  end
  local by_fn = {}
  function board.slot(label)
    local s = { label = label, done = 0, started = now() }
    slots[#slots + 1] = s
    local fn = function(done, total)
      s.done, s.total = done, total
      draw()
    end
    by_fn[fn] = s
    return fn
  end
  function board.finish(fn)
    local s = by_fn[fn]
    if s and not s.ended then
      s.ended, ended = true, ended + 1
      draw()
    end
  end
  function board.close()
    if drawn > 0 then
      io.stderr:write("\n")
      drawn = 0
    end
  end
  return board
end

return M
