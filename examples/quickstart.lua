-- Quickstart: every Files operation once, with readable output.
-- Uses MISTRAL_API_KEY and MISTRAL_SERVER_URL (make demo sets both for the local server).
local mistralai = require("mistralai")

local client = mistralai.new{}  -- api_key and server_url from the environment
print(("mistralai %s, talking to %s"):format(mistralai._VERSION, client.server_url))

-- A small fine-tuning file.
local base = os.tmpname()  -- creates an empty file, removed at the end
local path = base .. ".jsonl"
local lines = {}
for i = 1, 3 do
  lines[i] = ('{"messages":[{"role":"user","content":"Question %d?"},{"role":"assistant","content":"Answer %d."}]}')
    :format(i, i)
end
local content = table.concat(lines, "\n") .. "\n"
local out = assert(io.open(path, "wb"))
out:write(content)
out:close()

local function check(value, err)
  if value == nil then
    io.stderr:write(tostring(err), "\n")
    os.exit(1)
  end
  return value
end

local f = check(client.files.upload{ file = path, purpose = "fine-tune" })
print(("uploaded   %s  %s  %d bytes  %s lines  %s"):format(f.id, f.filename, f.bytes, tostring(f.num_lines), f.purpose))

local page = check(client.files.list{ page_size = 5 })
print(("list       %d file(s) in all, first page shows %d"):format(page.total or -1, #page.data))

local n = 0
for file in client.files.each{ purpose = "fine-tune", page_size = 10 } do
  n = n + 1
  if n <= 3 then print(("  each     %s  %s"):format(file.id, file.filename)) end
end
print(("each       %d fine-tuning file(s)"):format(n))

local info = check(client.files.retrieve(f.id))
print(("retrieve   %s  deleted=%s"):format(info.filename, tostring(info.deleted)))

local signed = check(client.files.get_signed_url(f.id, { expiry = 1 }))
local curl = io.popen("curl -sS --fail '" .. signed.url:gsub("'", "'\\''") .. "'")
local fetched = curl:read("*a")
curl:close()
print(("signed URL fetched without the key: %s"):format(fetched == content and "same bytes" or "DIFFERENT"))

local downloaded = path .. ".downloaded"
check(client.files.download(f.id, { output = downloaded }))
local back = io.open(downloaded, "rb")
local same = back:read("*a") == content
back:close()
print(("download   to %s: %s"):format(downloaded, same and "same bytes" or "DIFFERENT"))

local d = check(client.files.delete(f.id))
print(("delete     %s deleted=%s"):format(d.id, tostring(d.deleted)))

os.remove(base)
os.remove(path)
os.remove(downloaded)
client:close()
if fetched ~= content or not same then os.exit(1) end
