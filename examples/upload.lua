-- Upload a file from disk (streamed, constant memory) and one from memory.
local client = require("mistralai").new{}  -- MISTRAL_API_KEY and MISTRAL_SERVER_URL

local path = os.tmpname()
local f = assert(io.open(path, "wb"))
f:write('{"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"}]}\n')
f:close()

local from_disk = assert(client.files.upload{ file = path, file_name = "hello.jsonl", purpose = "fine-tune" })
print(("from disk:   %s %s, %d bytes, %d line(s), %s"):format(from_disk.id, from_disk.filename, from_disk.bytes,
  from_disk.num_lines or 0, from_disk.mimetype or "?"))

local from_memory, err, response = client.files.upload{
  file = { file_name = "batch.jsonl", content = '{"custom_id":"1","body":{}}\n' },
  purpose = "batch", visibility = "user", expiry = 24,
}
assert(from_memory, err)
print(("from memory: %s %s, HTTP %d, expires at %s"):format(from_memory.id, from_memory.filename, response.status,
  os.date("!%Y-%m-%d %H:%M UTC", from_memory.expires_at)))

client.files.delete(from_disk.id)
client.files.delete(from_memory.id)
os.remove(path)
client:close()
