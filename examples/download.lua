-- Download a file's content four ways: to a string, to a file (atomically), to a sink, and as
-- a stream read at the reader's own pace.
local client = require("mistralai").new{}

local content = ('{"n":%d}\n'):rep(1000):gsub("%%d", "1")
local id = assert(client.files.upload{ file = { file_name = "data.jsonl", content = content } }).id

local s = assert(client.files.download(id))
print(("to a string: %d bytes, same: %s"):format(#s, tostring(s == content)))

local path = os.tmpname()
assert(client.files.download(id, { output = path, progress = function(done, total)
  io.write(("\r  %d / %s bytes"):format(done, tostring(total)))
end }))
print()
local f = assert(io.open(path, "rb"))
print(("to a file: same: %s"):format(tostring(f:read("*a") == content)))
f:close()
os.remove(path)

local received = 0
assert(client.files.download(id, { sink = function(chunk) received = received + #chunk end }))
print(("to a sink: %d bytes"):format(received))

local stream = assert(client.files.download(id, { stream = true }))
local parts = {}
for chunk in stream do parts[#parts + 1] = chunk end  -- raises if the transfer fails mid-way
print(("as a stream: same: %s"):format(tostring(table.concat(parts) == content)))

client.files.delete(id)
client:close()
