-- The soak, run by spec/10-lifetime_spec.lua in an interpreter of its own so that what earlier
-- specs did to the allocator does not blur its figures. Prints one line per checkpoint:
-- "<phase> <calls> <rss KiB> <open files> <Lua heap KiB> <open sockets>". Sockets are apart:
-- besides libcurl's own socket pair, the connection cache holds one or two, as the server
-- closes a connection after 1,000 requests and uploads go on connections of their own.
local mistralai = require("mistralai")

local client = mistralai.new{ server_url = os.getenv("MISTRAL_SERVER_URL"), api_key = os.getenv("MISTRAL_API_KEY") }

local function checkpoint(phase, n)
  collectgarbage()
  collectgarbage()
  local f = assert(io.open("/proc/self/status"))
  local status = f:read("*a")
  f:close()
  local files, sockets = 0, 0
  local ls = assert(io.popen("ls -l /proc/$PPID/fd"))  -- the shell's parent: us
  for line in ls:lines() do
    if line:find("socket:", 1, true) then sockets = sockets + 1
    elseif line:find(" -> ", 1, true) then files = files + 1 end
  end
  ls:close()
  print(phase, n, tonumber(status:match("VmRSS:%s*(%d+)")), files, math.floor(collectgarbage("count")), sockets)
end

local f = assert(client.files.upload{ file = { file_name = "soak.txt", content = "soak" } })
for i = 1, 10000 do
  assert(client.files.retrieve(f.id))
  if i % 1000 == 0 then checkpoint("calls", i) end
end
for i = 1, 1000 do
  local g = assert(client.files.upload{ file = { file_name = "u.txt", content = "u" .. i } })
  assert(client.files.download(g.id) == "u" .. i)
  assert(client.files.delete(g.id))
  if i % 100 == 0 then checkpoint("uploads", i) end
end
client:close()
checkpoint("closed", 0)
