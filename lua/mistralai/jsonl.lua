--- Checks a JSON Lines file the way fine-tuning needs it: valid UTF-8, every line a JSON
--- object, at least one line. Streams through the file line by line (constant memory).
local core = require("mistralai.core")
local decode = require("mistralai.json").decode_raw

local M = {}

local MAX_PROBLEMS = 10

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

-- Checks the lines an iterator gives: their count, and up to MAX_PROBLEMS problems or nil.
local function check_lines(next_line)
  local problems, n = {}, 0
  for line in next_line do
    n = n + 1
    local why = problem((line:gsub("\r$", "")))
    if why then
      problems[#problems + 1] = { line = n, reason = why }
      if #problems >= MAX_PROBLEMS then break end
    end
  end
  if n == 0 then problems[1] = { line = 0, reason = "the file is empty" } end
  return n, #problems > 0 and problems or nil
end

--- Checks the file at path. Returns the number of lines and nil when it is valid; else the
--- number of lines read and a list of up to 10 { line = n, reason = ... } (more may exist),
--- or nil and a message when the file cannot be read.
function M.check_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local n, problems = check_lines(f:lines())
  f:close()
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
