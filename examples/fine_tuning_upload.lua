-- Walk-through: preparing and uploading fine-tuning data.
--   1. write the training examples as JSON Lines, one conversation per line;
--   2. check the file before a long upload (the API refuses invalid files after receiving them);
--   3. upload with a progress callback, and retries on (they are on by default);
--   4. confirm what the API stored, and keep the id for the fine-tuning job.
local mistralai = require("mistralai")
local jsonl = require("mistralai.jsonl")
local cjson = require("cjson")

local client = mistralai.new{ retry = { max_elapsed_time = 120000 } }

-- 1. the data
local base = os.tmpname()  -- an empty file, removed at the end with the .jsonl beside it
local path = base .. ".jsonl"
local out = assert(io.open(path, "wb"))
for i = 1, 200 do
  out:write(cjson.encode({ messages = {
    { role = "user", content = ("What is %d squared?"):format(i) },
    { role = "assistant", content = tostring(i * i) },
  } }), "\n")
end
out:close()

-- 2. check it as fine-tuning needs it (docs/formats.md): mistral-files validate does the same
local lines, problems = jsonl.check_file(path, "fine-tune")
if problems then
  print("not valid for fine-tuning: " .. jsonl.describe(problems))
  os.exit(1)
end
print(("checked: %d conversations, valid for fine-tuning"):format(lines))

-- 3. upload (validate = true would run the same check, for the upload's purpose, inside upload)
local f, err = client.files.upload{
  file = path, purpose = "fine-tune", file_name = "squares.jsonl",
  progress = function(done, total) io.write(("\ruploading %3d%%"):format(math.floor(done * 100 / total))) end,
}
print()
if not f then
  print("upload failed: " .. tostring(err))
  os.exit(1)
end

-- 4. what the API stored
local stored = assert(client.files.retrieve(f.id))
print(("stored %s as %s: %d bytes, %d lines, purpose %s"):format(stored.id, stored.filename, stored.bytes,
  stored.num_lines, stored.purpose))
print("use this id as the training file of a fine-tuning job: " .. stored.id)

client.files.delete(f.id)
os.remove(path)
os.remove(base)
client:close()
