-- Streams both ways: download(id, { stream = true }) hands out the body chunk by chunk at the
-- reader's pace, holding the transfer back while nobody reads; upload{ file = { reader =,
-- size = } } sends what a function gives, asking for the next piece as libcurl sends.
local core = require("mistralai.core")
local mistralai = require("mistralai")
local support = require("support")

describe("download streams", function()
  local client, dir
  setup(function()
    client = support.client()
    dir = support.tmpdir()
  end)
  teardown(function() client:close() end)
  before_each(function() support.reset() end)

  local function stored(content)
    return assert(client.files.upload{ file = { file_name = "s.bin", content = content } }).id
  end

  it("reads the body chunk by chunk, byte-exact, with the response", function()
    local content = ("0123456789abcdef"):rep(512 * 1024)  -- 8 MiB
    local s, err, response = client.files.download(stored(content), { stream = true })
    assert.is_nil(err)
    assert.same(200, response.status)
    assert.same(1, response.attempts)
    assert.same(tostring(#content), response.headers["content-length"])
    local parts = {}
    for chunk in s do
      assert.is_true(#chunk > 0 and #chunk <= 256 * 1024, "chunk of " .. #chunk)
      parts[#parts + 1] = chunk
    end
    assert.is_true(table.concat(parts) == content)
    assert.is_true(#parts > 1)
    assert.is_nil(s:read())
    assert.matches("closed", tostring(s))
  end)

  it("an empty body ends at once", function()
    local s = assert(client.files.download(stored(""), { stream = true }))
    assert.is_nil(s:read())
  end)

  it("#big a slow reader holds the transfer back: peak RSS grows by under 16 MiB", function()
    local size = 64 * 1024 * 1024
    local f = assert(client.files.upload{ file = support.random_file(dir .. "/slow.bin", size) })
    collectgarbage()
    support.reset_peak_rss()
    local before = support.peak_rss_kib()
    local s = assert(client.files.download(f.id, { stream = true }))
    local got, rate, t0, n = 0, 40 * 1024 * 1024, core.now(), 0
    for chunk in s do
      got, n = got + #chunk, n + 1
      -- read chunks are the reader's garbage: collect it, so what is measured is what the
      -- client holds (5.1 and LuaJIT would otherwise let it pile up to ~50 MiB first)
      if n % 16 == 0 then collectgarbage() end
      local due = t0 + got / rate  -- read at 40 MB/s: slower than the server sends
      if due > core.now() then core.sleep(due - core.now()) end
    end
    assert.same(size, got)
    local grown = (support.peak_rss_kib() - before) / 1024
    assert.is_true(grown < 16, ("peak RSS grew by %.1f MiB"):format(grown))
  end)

  it("a failure mid-way: read gives nil, err, and a for loop raises it", function()
    local id = stored(("t"):rep(4 * 1024 * 1024))
    support.fault{ kind = "truncate", method = "GET", path = "/v1/files/" .. id .. "/content" }
    local s = assert(client.files.download(id, { stream = true, retry = false }))
    local got, chunk, err = 0
    repeat
      chunk, err = s:read()
      got = got + (chunk and #chunk or 0)
    until not chunk
    assert.same("network", err.kind)
    assert.is_true(got < 4 * 1024 * 1024)
    assert.same(err, select(2, s:read()))  -- the same error again

    support.fault{ kind = "truncate", method = "GET", path = "/v1/files/" .. id .. "/content" }
    local s2 = assert(client.files.download(id, { stream = true, retry = false }))
    local ok, raised = pcall(function() for _ in s2 do end end)
    assert.is_false(ok)
    assert.same("network", raised.kind)
  end)

  it("an error status or a wrong Content-Type gives nil, err and no stream", function()
    local s, err = client.files.download("missing", { stream = true })
    assert.is_nil(s)
    assert.same(404, err.status)
    local id = stored("x")
    support.fault{ kind = "content_type", content_type = "text/html", method = "GET", path = "/v1/files/" .. id .. "/content" }
    local s2, err2 = client.files.download(id, { stream = true })
    assert.is_nil(s2)
    assert.same("decode", err2.kind)
  end)

  it("close stops the transfer at once and is idempotent", function()
    local id = stored(("c"):rep(2 * 1024 * 1024))
    support.fault{ kind = "trickle", rate = 64 * 1024, method = "GET" }
    local s = assert(client.files.download(id, { stream = true }))
    assert.is_string(s:read())
    local t0 = core.now()
    s:close()
    s:close()
    assert.is_true(core.now() - t0 < 0.1)
    assert.is_nil(s:read())
    assert.matches("closed", tostring(s))
  end)

  it("a cancel handle ends it: read gives nil, aborted", function()
    local id = stored(("h"):rep(2 * 1024 * 1024))
    support.fault{ kind = "trickle", rate = 64 * 1024, method = "GET" }
    local c = mistralai.cancel_handle()
    local s = assert(client.files.download(id, { stream = true, cancel = c }))
    assert.is_string(s:read())
    c:cancel()
    local chunk, err
    repeat chunk, err = s:read() until not chunk
    assert.same("aborted", err.kind)
  end)

  it("inside gather, read yields: the other tasks go on while the stream waits", function()
    local id = stored(("g"):rep(512 * 1024))
    support.fault{ kind = "trickle", rate = 512 * 1024, method = "GET", path = "/v1/files/" .. id .. "/content" }
    local finished = {}
    local t0 = core.now()
    local results = client:gather({
      function()
        local s = assert(client.files.download(id, { stream = true }))
        local n = 0
        while true do  -- read(), not a for loop: PUC Lua 5.1 cannot yield from a for iterator
          local chunk = s:read()
          if not chunk then break end
          n = n + #chunk
        end
        finished[1] = core.now() - t0
        return n
      end,
      function()
        for _ = 1, 3 do assert(client.files.list{ page_size = 1 }) end
        finished[2] = core.now() - t0
        return true
      end,
    })
    assert.same(512 * 1024, results[1][1])
    assert.is_true(results[2][1])
    assert.is_true(finished[2] < 0.5 and finished[1] > 0.8, ("list at %.2f s, stream at %.2f s"):format(finished[2], finished[1]))
  end)

  it("excludes output and sink", function()
    assert.has_error(function() client.files.download("x", { stream = true, output = "o" }) end,
      "bad argument #2 to 'download' (options 'output', 'sink' and 'stream' exclude each other)")
    assert.has_error(function() client.files.download("x", { stream = true, sink = print }) end,
      "bad argument #2 to 'download' (options 'output', 'sink' and 'stream' exclude each other)")
  end)
end)

describe("uploads from a reader", function()
  local client
  setup(function() client = support.client() end)
  teardown(function() client:close() end)
  before_each(function() support.reset() end)

  -- A reader over content in pieces of `piece` bytes; reads counts its calls.
  local function reader_of(content, piece)
    local r = { pos = 1, reads = 0 }
    function r.read()
      r.reads = r.reads + 1
      if r.pos > #content then return nil end
      local chunk = content:sub(r.pos, r.pos + piece - 1)
      r.pos = r.pos + #chunk
      return chunk
    end
    function r.rewind() r.pos = 1 end
    return r
  end

  local function total()
    return assert(client.files.list{ page_size = 1 }).total
  end

  it("sends what the reader gives, byte-exact, with the declared Content-Length", function()
    local content = ("0123456789abcdef"):rep(256 * 1024) .. "tail"  -- 4 MiB and a bit
    local r = reader_of(content, 100000)
    local echo = support.echo_client({ max_response_bytes = 16 * 1024 * 1024 })  -- the echo holds the body
    local sent = assert(echo.files.upload{ file = { file_name = "r.jsonl", reader = r.read, size = #content } })
    echo:close()
    local length = tonumber(sent.header:match("[Cc]ontent%-[Ll]ength: (%d+)"))
    assert.is_true(length > #content and length < #content + 1024, "Content-Length " .. tostring(length))
    assert.is_nil(sent.header:lower():find("transfer%-encoding"))
    r.pos = 1
    local f = assert(client.files.upload{ file = { file_name = "r.bin", reader = r.read, size = #content } })
    assert.same(#content, f.bytes)
    assert.same("r.bin", f.filename)
    assert.is_true(client.files.download(f.id) == content)
  end)

  it("a reader that gives fewer or more bytes than size ends the call with io; nothing is stored", function()
    local content = ("x"):rep(3 * 1024 * 1024)
    local before = total()
    local f, err = client.files.upload{ file = { file_name = "short.bin", reader = reader_of(content, 65536).read,
      size = #content + 1 } }
    assert.is_nil(f)
    assert.same("io", err.kind)
    assert.matches("ended after 3145728 bytes; file.size is 3145729", err.message)
    f, err = client.files.upload{ file = { file_name = "long.bin", reader = reader_of(content, 65536).read,
      size = #content - 1 } }
    assert.is_nil(f)
    assert.same("io", err.kind)
    assert.matches("gave more than file.size", err.message)
    -- exactly size bytes, then more instead of the end: caught before the last bytes go
    f, err = client.files.upload{ file = { file_name = "extra.bin", size = 4, reader = coroutine.wrap(function()
      coroutine.yield("abcd")
      coroutine.yield("e")
    end) } }
    assert.is_nil(f)
    assert.same("io", err.kind)
    core.sleep(0.2)
    assert.same(before, total())
  end)

  it("the reader may yield: inside gather it runs other operations between pieces", function()
    local content = ("y"):rep(1024 * 1024)
    local r = reader_of(content, 256 * 1024)
    local lists = 0
    local results = client:gather({
      function()
        return client.files.upload{ file = { file_name = "y.bin", size = #content, reader = function()
          assert(client.files.list{ page_size = 1 })  -- yields to the other task while it waits
          lists = lists + 1
          return r.read()
        end } }
      end,
      function() return client.files.list{ page_size = 1 } ~= nil end,
    })
    assert.same(#content, results[1][1].bytes)
    assert.is_true(results[2][1])
    assert.is_true(lists >= 5)
  end)

  it("is not retried once read from, unless a rewind is given", function()
    local content = ("z"):rep(2 * 1024 * 1024)
    support.fault{ kind = "status", status = 503, method = "POST", after_body = 1 }
    local r = reader_of(content, 65536)
    local f, err = client.files.upload{ file = { file_name = "z.bin", reader = r.read, size = #content } }
    assert.is_nil(f)
    assert.same(503, err.status)
    assert.same(1, err.attempts)

    support.fault{ kind = "status", status = 503, method = "POST", after_body = 1 }
    r = reader_of(content, 65536)
    f, err = client.files.upload{ file = { file_name = "z.bin", reader = r.read, rewind = r.rewind, size = #content },
      retry = { initial_interval = 10, jitter = 0 } }
    assert.is_nil(err)
    assert.same(#content, f.bytes)
  end)

  it("a reader that raises: the error goes on up, the transfer is freed, nothing is stored", function()
    local before = total()
    local n = 0
    assert.has_error(function()
      client.files.upload{ file = { file_name = "boom.bin", size = 1024 * 1024, reader = function()
        n = n + 1
        if n == 3 then error("boom", 0) end
        return ("b"):rep(65536)
      end } }
    end, "boom")
    core.sleep(0.2)
    assert.same(before, total())
  end)

  it("an answer reporting other bytes than were sent gives kind integrity, with the file's id", function()
    for _, file in ipairs({ { file_name = "i.bin", content = "12345" },
        { file_name = "i.bin", reader = reader_of("12345", 2).read, size = 5 } }) do
      support.fault{ kind = "misreport_bytes", method = "POST" }
      local f, err = client.files.upload{ file = file }
      assert.is_nil(f)
      assert.same("integrity", err.kind)
      assert.same("the server reports 6 bytes for i.bin; 5 were sent", err.message)
      assert.same(5, assert(client.files.retrieve(err.file_id)).bytes)
    end
  end)

  it("checks its arguments", function()
    local function up(file) return function() client.files.upload{ file = file } end end
    assert.has_error(up({ file_name = "a", reader = print }), "bad argument #1 to 'upload' (file.size is required with file.reader)")
    assert.has_error(up({ file_name = "a", reader = print, size = 1, content = "x" }),
      "bad argument #1 to 'upload' (file.content and file.reader exclude each other)")
    assert.has_error(up({ file_name = "a", content = "x", size = 1 }),
      "bad argument #1 to 'upload' (file.size and file.rewind go with file.reader)")
    assert.has_error(function() client.files.upload{ file = { file_name = "a", reader = print, size = 1 }, validate = true } end,
      "bad argument #1 to 'upload' (validate needs the content: not with file.reader)")
  end)
end)

describe("bandwidth caps", function()
  local size, rate = 4 * 1024 * 1024, 4 * 1024 * 1024  -- about one second each way

  it("#timing max_send_bytes_per_s and max_recv_bytes_per_s hold a transfer near the cap", function()
    local client = support.client({ max_send_bytes_per_s = rate, max_recv_bytes_per_s = rate })
    local content = ("m"):rep(size)
    local t0 = core.now()
    local f = assert(client.files.upload{ file = { file_name = "capped.bin", content = content } })
    local up = core.now() - t0
    t0 = core.now()
    assert.is_true(client.files.download(f.id) == content)
    local down = core.now() - t0
    -- per call, over the client's: twice the rate, half the time
    t0 = core.now()
    assert(client.files.download(f.id, { max_recv_bytes_per_s = 2 * rate }))
    local fast = core.now() - t0
    client:close()
    for what, seconds in pairs({ upload = up, download = down, ["download at twice the cap"] = fast * 2 }) do
      assert.is_true(seconds > 0.75 and seconds < 1.25, ("%s took %.2f s for 1 s of bytes"):format(what, seconds))
    end
  end)

  it("rejects a cap that is not a whole number >= 1", function()
    assert.has_error(function() support.client({ max_recv_bytes_per_s = 0 }) end,
      "bad argument #1 to 'new' (option 'max_recv_bytes_per_s' must be a whole number from 1 to 2147483647, got 0)")
    local client = support.client()
    assert.has_error(function() client.files.download("x", { max_send_bytes_per_s = 0.5 }) end,
      "bad argument #2 to 'download' (option 'max_send_bytes_per_s' must be a whole number from 1 to 2147483647, got 0.5)")
    client:close()
  end)
end)

describe("resumed downloads", function()
  local client, dir, content, id
  local size = 3 * 1024 * 1024
  setup(function()
    client = support.client({ retry = { initial_interval = 10, jitter = 0 } })
    dir = support.tmpdir()
    local parts = {}
    for i = 1, size / 16 do parts[i] = ("%015d\n"):format(i) end  -- every byte tells its place
    content = table.concat(parts)
    id = assert(client.files.upload{ file = { file_name = "resume.bin", content = content } }).id
  end)
  teardown(function() client:close() end)
  before_each(function() support.reset() end)

  local path = function() return "/v1/files/" .. id .. "/content" end
  local function cut_at(bytes) support.fault{ kind = "truncate", after = bytes, method = "GET", path = path() } end
  local function ranges()
    local r = {}
    for _, req in ipairs(support.requests()) do
      if req.uri == path() then r[#r + 1] = req.range or "none" end
    end
    return r
  end

  it("to an output file: the retry asks for the rest, and the file is byte-exact", function()
    cut_at(1000000)
    local out = dir .. "/resumed.bin"
    local ok, err, response = client.files.download(id, { output = out })
    assert.is_nil(err)
    assert.is_true(ok)
    assert.same(2, response.attempts)
    assert.same({ "none", "bytes=1000000-" }, ranges())
    assert.is_true(support.read(out) == content)
    assert.same({ "resumed.bin" }, support.ls(dir))
  end)

  it("to a sink: no byte is handed twice", function()
    cut_at(1500000)
    local parts = {}
    assert(client.files.download(id, { sink = function(chunk) parts[#parts + 1] = chunk end }))
    assert.same({ "none", "bytes=1500000-" }, ranges())
    assert.is_true(table.concat(parts) == content)
  end)

  it("to a string", function()
    cut_at(2000000)
    assert.is_true(client.files.download(id) == content)
    assert.same({ "none", "bytes=2000000-" }, ranges())
  end)

  it("a server that ignores Range: an output file starts over, a sink fails naming the offset", function()
    cut_at(1000000)
    support.fault{ kind = "ignore_range", method = "GET", path = path() }  -- answers 200, whole
    local out = dir .. "/restarted.bin"
    local _, err, response = client.files.download(id, { output = out })
    assert.is_nil(err)
    assert.same(2, response.attempts)
    assert.is_true(support.read(out) == content)

    cut_at(1000000)
    support.fault{ kind = "ignore_range", method = "GET", path = path() }
    local got = 0
    local ok, serr = client.files.download(id, { sink = function(chunk) got = got + #chunk end })
    assert.is_nil(ok)
    assert.same("network", serr.kind)
    assert.same("resume_refused", serr.reason)
    assert.matches("did not resume the body at byte 1000000 %(HTTP 200%)", serr.message)
    assert.same(1000000, got)
  end)

  it("as a stream: reading goes on past the cut, from where the reader is", function()
    cut_at(1000000)
    local s = assert(client.files.download(id, { stream = true }))
    local parts = {}
    for chunk in s do parts[#parts + 1] = chunk end
    assert.is_true(table.concat(parts) == content)
    assert.same({ "none", "bytes=1000000-" }, ranges())
  end)

  it("as a stream whose server ignores Range: read fails naming the offset, nothing given twice", function()
    cut_at(1000000)
    support.fault{ kind = "ignore_range", method = "GET", path = path() }
    local s = assert(client.files.download(id, { stream = true }))
    local got, chunk, err = 0
    repeat
      chunk, err = s:read()
      got = got + (chunk and #chunk or 0)
    until not chunk
    assert.same(1000000, got)
    assert.same("resume_refused", err.reason)
    assert.matches("at byte 1000000", err.message)
  end)

  it("a failed call leaves no temporary file", function()
    cut_at(1000000)
    cut_at(2000000)
    local out = dir .. "/failed.bin"
    local ok, err = client.files.download(id, { output = out, retry = { initial_interval = 10, jitter = 0,
      max_elapsed_time = 10 } })
    assert.is_nil(ok)
    assert.same("network", err.kind)
    for _, name in ipairs(support.ls(dir)) do assert.is_nil(name:find("^failed"), name .. " was left") end
  end)
end)
