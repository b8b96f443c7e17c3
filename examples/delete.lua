-- Delete a file; deleting it again is a 404 error value.
local client = require("mistralai").new{}

local id = assert(client.files.upload{ file = { file_name = "gone.jsonl", content = "{}\n" } }).id
local d = assert(client.files.delete(id))
print(("deleted %s: %s"):format(d.id, tostring(d.deleted)))
local again, err = client.files.delete(id)
print(("again: %s, %s"):format(tostring(again), tostring(err)))
client:close()
