-- Get a signed URL: it serves the content without the key until it expires.
local client = require("mistralai").new{}

local id = assert(client.files.upload{ file = { file_name = "share.txt", content = "shared" } }).id
local signed = assert(client.files.get_signed_url(id, { expiry = 1 }))
print("signed URL: " .. signed.url)
local curl = io.popen("curl -sS '" .. signed.url:gsub("'", "'\\''") .. "'")
print("fetched without the key: " .. curl:read("*a"))
curl:close()
client.files.delete(id)
client:close()
