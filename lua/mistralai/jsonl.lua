--- Checks a file the way its upload purpose needs it. JSON Lines first: valid UTF-8, every
--- line a JSON object, at least one line; then, for `fine-tune` and `batch`, each line's
--- fields (mistralai.formats has the rules). An `ocr` file is no JSON Lines: its type is told
--- from its first bytes. Streams through the file block by block, in bounded memory: a line
--- longer than MAX_LINE_BYTES is a problem of its own, skipped without being held.
local core = require("mistralai.core")
local check = require("mistralai.check")
local formats = require("mistralai.formats")
local decode = require("mistralai.json").decode_raw

local M = {}

--- The problems listed at most; the others are only counted (the list's `more`).
M.MAX_PROBLEMS = 10
M.MAX_LINE_BYTES = 4 * 1024 * 1024
local BLOCK_BYTES = 256 * 1024

local utf8_error, byte, sub, find = core.utf8_error, string.byte, string.sub, string.find

-- Why a line is not a JSON object (or breaks the purpose's rule), or nil when it is fine.
local function problem(line, rule, n)
  local bad = utf8_error(line)
  if bad then return ("invalid UTF-8 at byte %d"):format(bad) end
  if find(line, "^%s*$") then return "empty line" end
  local value, err = decode(line)
  if value == nil and err then return "invalid JSON: " .. err end
  if type(value) ~= "table" or find(line, "^%s*%[") then return "not a JSON object" end
  if rule then return rule(value, n) end
  return nil
end

-- Checks the lines an iterator gives (false for a line too long to hold), each against
-- rule too when there is one: their count, and the first MAX_PROBLEMS problems (the count of
-- the others in the list's `more`) or nil.
local function check_lines(next_line, rule)
  local problems, count, n, max_line = {}, 0, 0, M.MAX_LINE_BYTES
  for line in next_line do
    n = n + 1
    local why
    if line == false or #line > max_line then
      why = ("longer than %d bytes"):format(max_line)
    else
      if byte(line, -1) == 13 then line = sub(line, 1, -2) end  -- a CRLF line's CR
      why = problem(line, rule, n)
    end
    if why then
      count = count + 1
      if count <= M.MAX_PROBLEMS then problems[count] = { line = n, reason = why } end
    end
  end
  if n == 0 then problems[1], count = { line = 0, reason = "the file is empty" }, 1 end
  if count > M.MAX_PROBLEMS then problems.more = count - M.MAX_PROBLEMS end
  return n, count > 0 and problems or nil
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

local function purpose_arg(fname, purpose)
  if purpose ~= nil then check.arg(fname, 2, purpose, "string") end
  return purpose
end

-- The result of an ocr check: the type's name, or 0 and its one problem.
local function ocr_result(head)
  local kind, why = formats.file_type(head)
  if kind then return kind end
  return 0, { { line = 0, reason = why } }
end

--- Checks the file at path for purpose (nil: JSON Lines only). Returns the number of lines
--- and nil when it is valid; else the number of lines and a list of up to MAX_PROBLEMS
--- { line = n, reason = ... } (with `more`, the count of the others, when there are); or nil
--- and a message when the file cannot be read. For "ocr", the file type's name ("PDF", ...)
--- when it is one OCR accepts, else 0 and the list.
function M.check_file(path, purpose)
  purpose = purpose_arg("check_file", purpose)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local read_err
  local function read(size)
    local block, why = f:read(size or BLOCK_BYTES)
    if why then read_err = why end
    return block
  end
  local n, problems
  if purpose == "ocr" then
    n, problems = ocr_result(read(formats.HEAD_BYTES) or "")
  else
    n, problems = check_lines(bounded_lines(read, M.MAX_LINE_BYTES), formats.line_rule(purpose))
  end
  f:close()
  if read_err then return nil, read_err end
  return n, problems
end

--- The same for content in memory.
function M.check_string(s, purpose)
  check.arg("check_string", 1, s, "string")
  purpose = purpose_arg("check_string", purpose)
  if purpose == "ocr" then return ocr_result(s:sub(1, formats.HEAD_BYTES)) end
  local rule = formats.line_rule(purpose)
  if s == "" then return check_lines(function() return nil end, rule) end
  return check_lines((s:sub(-1) == "\n" and s or s .. "\n"):gmatch("([^\n]*)\n"), rule)
end

--- One readable line for a list of problems: "line 3: invalid JSON: ...; line 7: ...", and
--- "; ... and n more" when the list counts more.
function M.describe(problems)
  local parts = {}
  for i, p in ipairs(problems) do
    parts[i] = (p.line > 0 and ("line " .. p.line .. ": ") or "") .. p.reason
  end
  if problems.more and problems.more > 0 then parts[#parts + 1] = ("... and %d more"):format(problems.more) end
  return table.concat(parts, "; ")
end

return M
