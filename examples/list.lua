-- List one page of files, with filters, then every matching file across pages.
local client = require("mistralai").new{}

local ids = {}
for i = 1, 5 do
  ids[i] = assert(client.files.upload{ file = { file_name = ("listing-%d.jsonl"):format(i), content = "{}\n" },
    purpose = "batch" }).id
end

local page = assert(client.files.list{ search = "listing-", purpose = "batch", page = 0, page_size = 2 })
print(("page 0 holds %d of %d matching files:"):format(#page.data, page.total))
for _, f in ipairs(page.data) do print("  " .. f.filename) end

local n = 0
for f in client.files.each{ search = "listing-", page_size = 2 } do
  n = n + 1
  print(("each #%d: %s"):format(n, f.filename))
end

for _, id in ipairs(ids) do client.files.delete(id) end
client:close()
