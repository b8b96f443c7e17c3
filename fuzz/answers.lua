-- Fuzzes what the client makes of a server's answers: random JSON (any value in any field of
-- the API's shapes: nulls, booleans, nested tables, huge numbers, non-UTF-8 text, arrays with
-- holes) and random bytes, with random statuses, served by the local server's "body" fault to
-- every operation. Checked for each call: it returns a result or nil and an error value of a
-- documented kind, never a Lua error (each may raise an error value, as documented).
-- Usage: lua5.4 fuzz/answers.lua [seconds] [seed]
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = (os.getenv("MISTRALAI_TEST_BUILD") or "build/lua5.4") .. "/?.so;" .. package.cpath

local mistralai = require("mistralai")
local core = require("mistralai.core")
local encode = require("mistralai.encode")
local cjson = require("cjson")

local seconds = tonumber(arg[1]) or 30
local seed = tonumber(arg[2]) or os.time()
math.randomseed(seed)
io.write(("fuzzing answers for %d s, seed %d\n"):format(seconds, seed))

local server = require("mistralai.server").start{ control = true }

local FIELDS = { "data", "object", "total", "id", "bytes", "filename", "purpose", "url", "deleted", "detail",
  "loc", "msg", "message", "error", "code", "type", "num_lines", "expires_at" }
local NUMBERS = { "0", "-1", "7", "1e400", "-1e400", "1.5", "9007199254740993", "123456789012345678901234" }
local TEXTS = { "", "x", "list", "file", "\255\254", "\195\169", "null", "1e400", ("a"):rep(300) }

local random_json
local function random_object(depth)
  local parts = {}
  for i = 1, math.random(0, 5) do
    local key = math.random() < 0.85 and FIELDS[math.random(#FIELDS)] or TEXTS[math.random(#TEXTS)]
    parts[i] = cjson.encode(key) .. ":" .. random_json(depth + 1)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end
local function random_array(depth)
  local parts = {}
  for i = 1, math.random(0, 4) do parts[i] = random_json(depth + 1) end
  return "[" .. table.concat(parts, ",") .. "]"
end
function random_json(depth)
  local r = math.random(10)
  if r == 1 then return "null" end
  if r == 2 then return math.random() < 0.5 and "true" or "false" end
  if r == 3 then return NUMBERS[math.random(#NUMBERS)] end
  if r == 4 then return '"' .. TEXTS[math.random(#TEXTS)] .. '"' end
  if r <= 7 and depth < 4 then return random_object(depth) end
  if depth < 4 then return random_array(depth) end
  return "null"
end
-- The API's own shapes, with random values where its fields are.
local function v() return random_json(2) end
local SHAPES = {
  function()
    return ('{"detail":[%s,%s]}'):format(('{"loc":%s,"msg":%s,"type":%s}'):format(random_array(2), v(), v()), v())
  end,
  function() return ('{"detail":%s}'):format(v()) end,
  function() return ('{"data":[%s,%s],"object":%s,"total":%s}'):format(random_object(1), v(), v(), v()) end,
  function() return ('{"error":{"message":%s,"code":%s}}'):format(v(), v()) end,
  function() return ('{"message":%s,"code":%s,"type":%s}'):format(v(), v(), v()) end,
  function()
    return ('{"id":%s,"object":%s,"bytes":%s,"deleted":%s,"url":%s}'):format(v(), v(), v(), v(), v())
  end,
}

local function random_body()
  if math.random() < 0.5 then return SHAPES[math.random(#SHAPES)]() end
  if math.random() < 0.1 then  -- not JSON at all
    local b = {}
    for i = 1, math.random(0, 40) do b[i] = string.char(math.random(0, 255)) end
    return table.concat(b)
  end
  return math.random() < 0.7 and random_object(0) or random_json(0)
end

local KINDS = { http = true, network = true, timeout = true, io = true, decode = true, aborted = true, limit = true,
  invalid = true, integrity = true }
local STATUSES = { 200, 200, 200, 201, 400, 404, 422, 429, 500 }
local client = mistralai.new{ server_url = server.url, api_key = server.api_key, retry = false }
local calls = {
  list = function() return client.files.list() end,
  each = function() local n = 0 for _ in client.files.each{} do n = n + 1 end return n end,
  retrieve = function() return client.files.retrieve("x") end,
  delete = function() return client.files.delete("x") end,
  url = function() return client.files.get_signed_url("x") end,
  upload = function() return client.files.upload{ file = { file_name = "a.jsonl", content = "{}\n" } } end,
}
local names = {}
for name in pairs(calls) do names[#names + 1] = name end
table.sort(names)

local failures, n = 0, 0
local deadline = core.now() + seconds
local control = server.url .. "/_local/fault?"
while core.now() < deadline and failures == 0 do
  local name = names[math.random(#names)]
  local body, status = random_body(), STATUSES[math.random(#STATUSES)]
  local q = encode.query({ { "kind", "body" }, { "status", tostring(status) }, { "body", body } })
  local p = io.popen(("curl -sS -o /dev/null '%s'"):format((control .. q):gsub("'", "'\\''")))
  p:read("*a")
  p:close()
  local ok, a, b = pcall(calls[name])
  n = n + 1
  local fine
  if not ok then fine = name == "each" and mistralai.is_error(a)
  else fine = a ~= nil or (mistralai.is_error(b) and KINDS[b.kind]) end
  if not fine then
    failures = failures + 1
    io.write(("VIOLATION in %s with seed %d, status %d, body %q: %s %s\n"):format(name, seed, status, body,
      tostring(a), tostring(b)))
  end
end
client:close()
server:stop()
io.write(("%d answers: %d violations\n"):format(n, failures))
os.exit(failures == 0 and 0 or 1)
