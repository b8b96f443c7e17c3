-- Fuzzes the Lua layer's request building: random option tables and ids through every
-- operation, sent for real to the local server's echo endpoint. Checked for each call:
--   * it raises only argument errors (or what a caller's own callback raised);
--   * a failure is an error value of a documented kind;
--   * what reached the server is well formed: the method, a path where the id is one encoded
--     segment, a query of encoded pairs, only the expected headers, intact multipart framing.
-- Usage: lua5.4 fuzz/requests.lua [seconds] [seed]
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = (os.getenv("MISTRALAI_TEST_BUILD") or "build/lua5.4") .. "/?.so;" .. package.cpath

local mistralai = require("mistralai")
local core = require("mistralai.core")

local seconds = tonumber(arg[1]) or 30
local seed = tonumber(arg[2]) or os.time()
math.randomseed(seed)
io.write(("fuzzing requests for %d s, seed %d\n"):format(seconds, seed))

local server = require("mistralai.server").start{ control = true }
local SENTINEL = setmetatable({}, { __tostring = function() return "callback sentinel" end })

local pieces = { "", "a", "..", ".", "/", "%", "?", "#", " ", "\0", "\r\n", "\"", "\\", "\255", "\195\169",
  "fine-tune", "batch", "x.jsonl", "X-Inject: 1", "&", "=", "+", ";", "%2F", "..%2F" }
local function random_string()
  local out = {}
  for i = 1, math.random(0, 4) do
    out[i] = math.random() < 0.7 and pieces[math.random(#pieces)] or string.char(math.random(0, 255))
  end
  return table.concat(out)
end

local random_value
local function random_table(depth)
  local t = {}
  for _ = 1, math.random(0, 3) do
    if math.random() < 0.5 then t[#t + 1] = random_value(depth + 1)
    else t[random_string()] = random_value(depth + 1) end
  end
  return t
end
local function random_function()
  local r = math.random(4)
  if r == 1 then return function() error(SENTINEL) end end
  if r == 2 then return function() return false, "stop" end end
  return function() return true end
end
function random_value(depth)
  depth = depth or 0
  local r = math.random(12)
  if r == 1 then return nil end
  if r == 2 then return math.random() < 0.5 end
  if r == 3 then return math.random(-3, 200) end
  if r == 4 then return ({ 0.5, -1.5, 1 / 0, -1 / 0, 0 / 0, 2 ^ 53, 24, 168, 169 })[math.random(9)] end
  if r == 5 and depth < 2 then return random_table(depth) end
  if r == 6 then return random_function() end
  return random_string()
end

local KEYS = { "file", "purpose", "expiry", "visibility", "file_name", "content_type", "progress", "page", "page_size",
  "include_total", "sample_type", "source", "search", "mimetypes", "file_id", "output", "sink", "timeout_ms", "headers",
  "retry", "bogus" }
local temp_files = {}  -- every temporary name handed out, removed after each call
local function random_options()
  local opts = {}
  for _ = 1, math.random(0, 5) do
    local k = KEYS[math.random(#KEYS)]
    local v = random_value()
    if k == "file" and math.random() < 0.5 then v = { file_name = random_string(), content = random_string() } end
    if k == "headers" and math.random() < 0.7 then v = { [random_string()] = random_string() } end
    if k == "output" and math.random() < 0.5 then
      v = os.tmpname()
      temp_files[#temp_files + 1] = v
    end
    if k == "retry" then v = false end  -- the echo never fails; keep calls fast
    opts[k] = v
  end
  return opts
end

local failures = 0
local function violation(what, op, args)
  failures = failures + 1
  io.write(("VIOLATION (%s) in %s with seed %d: %s\n"):format(what, op, seed, tostring(args)))
end

local URL_CHARS = "^[%w%-_%.!~%*'%(%)%%]*$"
local HEADERS = { host = true, authorization = true, accept = true, ["user-agent"] = true, ["content-length"] = true,
  ["content-type"] = true }

local function check_request(op, got, opts)
  if got.method ~= "GET" and got.method ~= "POST" and got.method ~= "DELETE" then
    return violation("method", op, got.method)
  end
  local path, query = got.uri:match("^([^?]*)%??(.*)$")
  local rest = path:match("^/_local/echo/v1/files(.*)$")
  if not rest then return violation("path " .. got.uri, op) end
  if rest ~= "" then
    local seg, action = rest:match("^/([^/]+)(.*)$")
    if not seg or not seg:find(URL_CHARS) or seg == "." or seg == ".." then
      return violation("id segment " .. rest, op)
    end
    if action ~= "" and action ~= "/content" and action ~= "/url" then return violation("action " .. action, op) end
  end
  for pair in query:gmatch("[^&]+") do
    local k, v = pair:match("^([%w_]+)=(.*)$")
    if not k or not v:find(URL_CHARS) then return violation("query " .. query, op) end
  end
  local allowed = {}
  for k in pairs(HEADERS) do allowed[k] = true end
  if type(opts.headers) == "table" then
    for k in pairs(opts.headers) do if type(k) == "string" then allowed[k:lower()] = true end end
  end
  local lines = 0
  for line in got.header:gmatch("([^\r\n]*)\r\n") do
    lines = lines + 1
    if lines > 1 and line ~= "" then
      local name = line:match("^([^:]+):")
      if not name or not allowed[name:lower()] then return violation("header line " .. line, op) end
    end
  end
  if got.method == "POST" then
    local boundary = got.header:match("[Cc]ontent%-[Tt]ype: multipart/form%-data; boundary=([^\r\n]+)")
    if not boundary then return violation("no boundary", op) end
    local b = boundary:gsub("%p", "%%%0")
    if not got.body:find("^%-%-" .. b .. "\r\n") or not got.body:find("\r\n%-%-" .. b .. "%-%-\r\n$") then
      return violation("multipart framing", op)
    end
  end
end

local KINDS = { http = true, network = true, timeout = true, io = true, decode = true, aborted = true, limit = true }
local OPS = { "upload", "list", "each", "retrieve", "delete", "download", "get_signed_url" }

local client = mistralai.new{ server_url = server.url .. "/_local/echo", api_key = "fuzz-key", max_upload_bytes = 64 }
local deadline, calls = core.now() + seconds, 0
local seen = { raised = 0, error = 0, sent = 0 }
while core.now() < deadline and failures == 0 do
  local op = OPS[math.random(#OPS)]
  local takes_id = op ~= "upload" and op ~= "list" and op ~= "each"
  local a, b
  if takes_id then
    a = math.random() < 0.8 and random_string() or random_value()
    b = math.random() < 0.7 and random_options() or random_value()
  else
    a = math.random() < 0.9 and random_options() or random_value()
  end
  local opts = type(b) == "table" and b or type(a) == "table" and a or {}
  local ok, r1, r2 = pcall(client.files[op], a, b)
  if ok and op == "each" and type(r1) == "function" then ok, r1, r2 = pcall(r1) end
  calls = calls + 1
  if not ok then
    local is_arg = type(r1) == "string" and (r1:find("bad argument #%d to '" .. op .. "'")
      or r1:find("bad argument #%d to 'each'"))
    if not is_arg and r1 ~= SENTINEL and not (op == "each" and mistralai.is_error(r1)) then
      violation("raised " .. tostring(r1), op, a)
    end
    seen.raised = seen.raised + 1
  elseif r1 == nil and r2 ~= nil then
    if not mistralai.is_error(r2) or not KINDS[r2.kind] then violation("error value " .. tostring(r2), op) end
    seen.error = seen.error + 1
  elseif type(r1) == "table" and r1.uri then
    check_request(op, r1, opts)
    seen.sent = seen.sent + 1
  end
  for i, path in ipairs(temp_files) do
    os.remove(path)
    temp_files[i] = nil
  end
end
client:close()
server:stop()
io.write(("%d calls: %d raised argument errors, %d returned errors, %d requests checked; %d violations\n")
  :format(calls, seen.raised, seen.error, seen.sent, failures))
os.exit(failures == 0 and 0 or 1)
