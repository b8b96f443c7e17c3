-- Retrieve a file's metadata, and read the response's status and headers.
local client = require("mistralai").new{}

local id = assert(client.files.upload{ file = { file_name = "meta.jsonl", content = "{}\n{}\n" } }).id
local f, err, response = client.files.retrieve(id)
assert(f, err)
print(("%s: %s, %d bytes, %d lines, purpose %s, deleted=%s"):format(f.id, f.filename, f.bytes, f.num_lines,
  f.purpose, tostring(f.deleted)))
print(("HTTP %d, Content-Type %s, %d attempt(s)"):format(response.status, response.headers["content-type"],
  response.attempts))

-- a missing file is an error value, not an exception
local missing, not_found = client.files.retrieve("no-such-file")
print(missing, not_found.kind, not_found.status, not_found.message)

client.files.delete(id)
client:close()
