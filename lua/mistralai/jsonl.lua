--- Checks a JSON Lines file the way fine-tuning needs it: valid UTF-8, every line a JSON
--- object, at least one line. Streams through the file block by block, in bounded memory: a
--- line longer than MAX_LINE_BYTES is a problem of its own, skipped without being held.
local core = require("mistralai.core")
local decode = require("mistralai.json").decode_raw

local M = {}

local MAX_PROBLEMS = 10
M.MAX_LINE_BYTES = 4 * 1024 * 1024
local BLOCK_BYTES = 256 * 1024

-- Why a line is not a JSON object, or nil when it is one.
local function problem(line)
  local bad = core.utf8_error(line)
  if bad then return ("invalid UTF-8 at byte %d"):format(bad) end
  if line:find("^%s*$") then return "empty line" end
  local value, err = decode(line)
  if value == nil and err then return "invalid JSON: " .. err end
  if type(value) ~= "table" or line:find("^%s*%[") then return "not a JSON object" end
  return nil
end

-- Checks the lines an iterator gives (false for a line too long to hold): their count, and
-- up to MAX_PROBLEMS problems or nil.
local function check_lines(next_line)
  local problems, n = {}, 0
  for line in next_line do
    n = n + 1
    local why
    if line == false or #line > M.MAX_LINE_BYTES then
      why = ("longer than %d bytes"):format(M.MAX_LINE_BYTES)
    else
      why = problem((line:gsub("\r$", "")))
    end
    if why then
      problems[#problems + 1] = { line = n, reason = why }
      if #problems >= MAX_PROBLEMS then break end
    end
  end
  if n == 0 then problems[1] = { line = 0, reason = "the file is empty" } end
  return n, #problems > 0 and problems or nil
end

-- The lines of what read() gives block by block (nil at the end), without their "\n"; a
-- line longer than max bytes is given as false, its bytes dropped as they come.
local function bounded_lines(read, max)
  local buf, pos, finished = "", 1, false
  return function()
    if finished then return nil end
    local nl = buf:find("\n", pos, true)
    if nl then
      local line = buf:sub(pos, nl - 1)
      pos = nl + 1
      return line
    end
    local parts, size, long = { buf:sub(pos) }, #buf - pos + 1, false
    while true do
      local block = read()
      if block == nil then  -- the end: a last line without its newline, if any
        finished = true
        if long then return false end
        local line = table.concat(parts)
        if line == "" then return nil end
        return line
      end
      nl = block:find("\n", 1, true)
      if nl then
        buf, pos = block, nl + 1
        if long or size + nl - 1 > max then return false end
        parts[#parts + 1] = block:sub(1, nl - 1)
        return table.concat(parts)
      end
      size = size + #block
      if size > max then long, parts = true, {} else parts[#parts + 1] = block end
    end
  end
end

--- Checks the file at path. Returns the number of lines and nil when it is valid; else the
--- number of lines read and a list of up to 10 { line = n, reason = ... } (more may exist),
--- or nil and a message when the file cannot be read.
function M.check_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local read_err
  local function read()
    local block, why = f:read(BLOCK_BYTES)
    if why then read_err = why end
    return block
  end
  local n, problems = check_lines(bounded_lines(read, M.MAX_LINE_BYTES))
  f:close()
  if read_err then return nil, read_err end
  return n, problems
end

--- The same for content in memory.
function M.check_string(s)
  if s == "" then return check_lines(function() return nil end) end
  return check_lines((s:sub(-1) == "\n" and s or s .. "\n"):gmatch("([^\n]*)\n"))
end

--- One readable line for a list of problems: "line 3: invalid JSON: ...; line 7: ...".
function M.describe(problems)
  local parts = {}
  for i, p in ipairs(problems) do
    parts[i] = (p.line > 0 and ("line " .. p.line .. ": ") or "") .. p.reason
  end
  return table.concat(parts, "; ")
end

return M
