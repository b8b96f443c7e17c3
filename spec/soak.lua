-- The soak, run by spec/10-lifetime_spec.lua in an interpreter of its own so that what earlier
-- specs did to the allocator does not blur its figures. Prints one line per checkpoint:
-- "<phase> <calls> <rss KiB> <open fds> <Lua heap KiB>".
local mistralai = require("mistralai")

local client = mistralai.new{ server_url = os.getenv("MISTRAL_SERVER_URL"), api_key = os.getenv("MISTRAL_API_KEY") }

local function checkpoint(phase, n)
  collectgarbage()
  collectgarbage()
  local f = assert(io.open("/proc/self/status"))
  local status = f:read("*a")
  f:close()
  local fds = 0
  local ls = assert(io.popen("ls /proc/$PPID/fd"))  -- the shell's parent: us
  for _ in ls:lines() do fds = fds + 1 end
  ls:close()
  print(phase, n, tonumber(status:match("VmRSS:%s*(%d+)")), fds, math.floor(collectgarbage("count")))
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
