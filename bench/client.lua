-- The rock's side of the benchmarks: one workload per run, timed inside the process.
--   lua5.4|luajit bench/client.lua WORKLOAD ARGS...   (MISTRAL_SERVER_URL, MISTRAL_API_KEY,
--   MISTRAL_CA_FILE for an HTTPS server whose certificate a throwaway CA signed)
-- Prints "seconds <wall seconds of the workload>" and what it checked.
local mistralai = require("mistralai")
local core = require("mistralai.core")

local workload = arg[1]
local client = mistralai.new{ max_upload_bytes = 4 * 1024 * 1024 * 1024, retry = false,
  ca_file = os.getenv("MISTRAL_CA_FILE") }

local function timed(fn)
  local t0 = core.now()
  local a, b = fn()
  io.write(("seconds %.6f\n"):format(core.now() - t0))
  return a, b
end

if workload == "upload" then          -- upload PATH
  local f = timed(function() return assert(client.files.upload{ file = arg[2], purpose = "batch" }) end)
  io.write("id ", f.id, "\nbytes ", ("%d"):format(f.bytes), "\n")
elseif workload == "download" then    -- download ID OUTPUT [fsync]
  timed(function() return assert(client.files.download(arg[2], { output = arg[3], fsync = arg[4] == "fsync" })) end)
elseif workload == "decode" then      -- decode cjson|rock FILE...: those JSON bodies, decoded alone
  local decode = arg[2] == "cjson" and require("cjson.safe").decode or require("mistralai.json").decode
  local bodies = {}
  for i = 3, #arg do
    local f = assert(io.open(arg[i], "rb"))
    bodies[#bodies + 1] = f:read("*a")
    f:close()
  end
  timed(function() for _, body in ipairs(bodies) do assert(decode(body)) end end)
elseif workload == "validate" then    -- validate PATH PURPOSE: mistralai.jsonl's check, as validate = true runs it
  local jsonl = require("mistralai.jsonl")
  local lines, problems = timed(function() return jsonl.check_file(arg[2], arg[3]) end)
  assert(lines and not problems, "the file is not valid: " .. tostring(problems and jsonl.describe(problems)))
  io.write("lines ", lines, "\n")
elseif workload == "stream" then      -- stream ID [BYTES_PER_S]: read a download stream, paced
  local rate = tonumber(arg[3])
  local got, n = 0, 0
  timed(function()
    local s = assert(client.files.download(arg[2], { stream = true }))
    local t0 = core.now()
    while true do
      local chunk = s:read()
      if not chunk then break end
      got, n = got + #chunk, n + 1
      if rate then  -- a slow consumer: its spent chunks collected as it goes
        if n % 16 == 0 then collectgarbage() end
        local due = t0 + got / rate
        if due > core.now() then core.sleep(due - core.now()) end
      end
    end
  end)
  io.write("bytes ", ("%d"):format(got), "\n")
elseif workload == "retrieve" then    -- retrieve ID COUNT (after one warm-up call)
  assert(client.files.retrieve(arg[2]))
  timed(function()
    for _ = 1, tonumber(arg[3]) do assert(client.files.retrieve(arg[2])) end
  end)
elseif workload == "list" then        -- list SEARCH PAGE_SIZE
  assert(client.files.list{ page_size = 1 })
  local n = 0
  timed(function()
    for _ in client.files.each{ search = arg[2], page_size = tonumber(arg[3]) } do n = n + 1 end
  end)
  io.write("files ", n, "\n")
elseif workload == "concurrent" or workload == "sequential" then  -- PATH...
  local unpack = table.unpack or unpack -- luacheck: ignore 143
  local paths = { unpack(arg, 2) }
  local fns = {}
  for i, path in ipairs(paths) do
    fns[i] = function() return assert(client.files.upload{ file = path, purpose = "batch" }) end
  end
  assert(#paths > 0, "no files to upload")
  timed(function()
    if workload == "concurrent" then
      local results = client:gather(fns, { concurrency = #fns })
      for i = 1, #fns do assert(results[i][1], tostring(results[i][2])) end
    else
      for _, fn in ipairs(fns) do fn() end
    end
  end)
elseif workload == "uploads" then     -- uploads COUNT fresh|reused: 1 KiB each, one after another
  -- fresh: the default, each upload on a new connection (uploads are not retried, so they never
  -- ride a reused one); reused: retry_uploads = true, which lets them share the open connection.
  -- Named small-upload-NNNNN; after one warm-up list and upload.
  local retry = arg[3] == "reused" and { retry_uploads = true } or nil
  assert(arg[3] == "fresh" or retry, "fresh or reused, not " .. tostring(arg[3]))
  local content = ("x"):rep(1024)
  local function upload(i)
    assert(client.files.upload{ file = { file_name = ("small-upload-%05d.txt"):format(i), content = content }, retry = retry })
  end
  assert(client.files.list{ page_size = 1 })
  upload(0)
  timed(function() for i = 1, tonumber(arg[2]) do upload(i) end end)
elseif workload == "lists" then       -- lists COUNT: files.list{ page_size = 1 }, after one warm-up call
  assert(client.files.list{ page_size = 1 })
  timed(function()
    for _ = 1, tonumber(arg[2]) do assert(client.files.list{ page_size = 1 }) end
  end)
elseif workload == "baseline" then    -- the interpreter with the rock loaded, nothing else
  timed(function() end)
else
  error("unknown workload " .. tostring(workload))
end
client:close()
