-- Failures of the world come back as nil, err; misuse raises, naming the function and argument.
local mistralai = require("mistralai")
local support = require("support")

describe("errors", function()
  local client, dir
  setup(function()
    client = support.client()
    dir = support.tmpdir()
  end)
  teardown(function() client:close() end)

  it("404 gives an http error with the API's fields", function()
    local f, err = client.files.retrieve("no-such-id")
    assert.is_nil(f)
    assert.is_true(mistralai.is_error(err))
    assert.same("http", err.kind)
    assert.same(404, err.status)
    assert.same("No file with id 'no-such-id' was found", err.message)
    assert.same("file_not_found", err.code)
    assert.same("invalid_request_file", err.type)
    assert.matches('"object":"error"', err.body)
    assert.same("application/json", err.headers["content-type"])
    assert.same(1, err.attempts)
    assert.same("mistralai: http 404: No file with id 'no-such-id' was found (file_not_found)", tostring(err))
  end)

  it("422 for a bad purpose, visibility or expiry: open enums are sent as given", function()
    local cases = {
      { { purpose = "audio" }, "body.purpose: Input should be 'fine-tune', 'batch' or 'ocr'" },
      { { visibility = "public" }, "body.visibility: Input should be 'workspace' or 'user'" },
      { { expiry = 9000 }, "body.expiry: Input should be a whole number of hours from 1 to 8760" },
    }
    for _, case in ipairs(cases) do
      local opts = case[1]
      opts.file = { file_name = "x.jsonl", content = "{}\n" }
      local f, err = client.files.upload(opts)
      assert.is_nil(f)
      assert.same("http", err.kind)
      assert.same(422, err.status)
      assert.same(case[2], err.message)
    end
    local bad_url, err = client.files.list{ page_size = 20000 }
    assert.is_nil(bad_url)
    assert.same(422, err.status)
  end)

  describe("misuse raises", function()
    local fn = function() end
    local cases = {
      { "upload", { nil }, "bad argument #1 to 'upload' (table expected, got nil)" },
      { "upload", { {} }, "bad argument #1 to 'upload' (option 'file' must be a path or a table {file_name=, content= | reader=, size=}, got nil)" },
      { "upload", { { file = "" } }, "bad argument #1 to 'upload' (option 'file' must not be empty)" },
      { "upload", { { file = { content = "x" } } }, "bad argument #1 to 'upload' (file.file_name must be a non-empty string)" },
      { "upload", { { file = { file_name = "a" } } }, "bad argument #1 to 'upload' (file.content must be a string)" },
      { "upload", { { file = "a", bogus = 1 } }, "bad argument #1 to 'upload' (unknown option 'bogus')" },
      { "upload", { { file = "a", purpose = 1 } }, "bad argument #1 to 'upload' (option 'purpose' must be a string, got number)" },
      { "upload", { { file = "a", expiry = 1.5 } }, "bad argument #1 to 'upload' (option 'expiry' must be a whole number from 1 to 2147483647, got 1.5)" },
      { "upload", { { file = "a", headers = { ["X-A"] = "1\r\nX-B: 2" } } }, "bad argument #1 to 'upload' (header 'X-A' has CR, LF or NUL in it)" },
      { "upload", { { file = "a", headers = { ["X-A\n"] = "1" } } }, "bad argument #1 to 'upload' (header name \"X-A\\\n\" is not a valid token)" },
      { "list", { { page = -1 } }, "bad argument #1 to 'list' (option 'page' must be a whole number from 0 to 2147483647, got -1)" },
      { "list", { { page = 0.5 } }, "bad argument #1 to 'list' (option 'page' must be a whole number from 0 to 2147483647, got 0.5)" },
      { "list", { { page_size = -3 } }, "bad argument #1 to 'list' (option 'page_size' must be a whole number from 0 to 2147483647, got -3)" },
      { "list", { { sample_type = { 1 } } }, "bad argument #1 to 'list' (option 'sample_type' item 1 must be a string)" },
      { "list", { { include_total = "yes" } }, "bad argument #1 to 'list' (option 'include_total' must be a boolean, got string)" },
      { "list", { { timeout_ms = 0 } }, "bad argument #1 to 'list' (option 'timeout_ms' must be a whole number from 1 to 2147483647, got 0)" },
      { "list", { { timeout_ms = 1e300 } }, "bad argument #1 to 'list' (option 'timeout_ms' must be a whole number from 1 to 2147483647, got 1e+300)" },
      { "list", { { retry = { bogus = 1 } } }, "bad argument #1 to 'list' (unknown option 'retry.bogus')" },
      { "each", { { page_size = 0 } }, "bad argument #1 to 'each' (option 'page_size' must be at least 1 to iterate)" },
      { "retrieve", { nil }, "bad argument #1 to 'retrieve' (file_id must be a string, got nil)" },
      { "retrieve", { 42 }, "bad argument #1 to 'retrieve' (file_id must be a string, got number)" },
      { "retrieve", { "" }, "bad argument #1 to 'retrieve' (file_id must not be empty)" },
      { "retrieve", { {} }, "bad argument #1 to 'retrieve' (field 'file_id' is required)" },
      { "retrieve", { "x", { output = "y" } }, "bad argument #2 to 'retrieve' (unknown option 'output')" },
      { "delete", { "x", 5 }, "bad argument #2 to 'delete' (table expected, got number)" },
      { "download", { "x", { output = "a", sink = fn } }, "bad argument #2 to 'download' (options 'output', 'sink' and 'stream' exclude each other)" },
      { "download", { "x", { stream = 1 } }, "bad argument #2 to 'download' (option 'stream' must be a boolean, got number)" },
      { "download", { "x", { output = "" } }, "bad argument #2 to 'download' (option 'output' must not be empty)" },
      { "download", { "x", { sink = "f" } }, "bad argument #2 to 'download' (option 'sink' must be a function, got string)" },
      { "get_signed_url", { "x", { expiry = 0 } }, "bad argument #2 to 'get_signed_url' (option 'expiry' must be a whole number from 1 to 168, got 0)" },
      { "get_signed_url", { "x", { expiry = 169 } }, "bad argument #2 to 'get_signed_url' (option 'expiry' must be a whole number from 1 to 168, got 169)" },
      { "get_signed_url", { { file_id = "x", expiry = 2.5 } }, "bad argument #1 to 'get_signed_url' (option 'expiry' must be a whole number from 1 to 168, got 2.5)" },
    }
    for _, case in ipairs(cases) do
      it(case[1] .. ": " .. case[3], function()
        local echo = support.echo_client()
        local op = echo.files[case[1]]
        local args = case[2]
        local ok, err = pcall(op, args[1], args[2])
        assert.is_false(ok)
        assert.same(case[3], err)
        echo:close()
      end)
    end

    it("names the caller's line", function()
      local ok, err = pcall(function() client.files.list{ page = -1 } end)
      assert.is_false(ok)
      assert.matches("^spec/03%-errors_spec%.lua:%d+: bad argument #1 to 'list'", err)
    end)

    it("in new too", function()
      assert.has_error(function() mistralai.new{ bogus = true } end, "bad argument #1 to 'new' (unknown option 'bogus')")
      assert.has_error(function() mistralai.new(5) end, "bad argument #1 to 'new' (table expected, got number)")
      assert.has_error(function() mistralai.new{ api_key = 5 } end,
        "bad argument #1 to 'new' (option 'api_key' must be a string or a function, got number)")
      assert.has_error(function() mistralai.new{ headers = { ["X"] = "a\nb" } } end,
        "bad argument #1 to 'new' (header 'X' has CR, LF or NUL in it)")
      assert.has_error(function() mistralai.new{ connect_timeout_ms = 2 ^ 31 } end,
        "bad argument #1 to 'new' (option 'connect_timeout_ms' must be a whole number from 1 to 2147483647, got "
        .. tostring(2 ^ 31) .. ")")
      assert.has_error(function() mistralai.new{ retry = 3 } end,
        "bad argument #1 to 'new' (option 'retry' must be a table or false)")
    end)
  end)

  describe("failures of the world", function()
    it("io: an upload path that does not exist or is a directory", function()
      local f, err = client.files.upload{ file = dir .. "/missing.jsonl" }
      assert.is_nil(f)
      assert.same("io", err.kind)
      assert.same("cannot read " .. dir .. "/missing.jsonl: No such file or directory", err.message)
      local g, err2 = client.files.upload{ file = dir }
      assert.is_nil(g)
      assert.same("io", err2.kind)
      assert.same("cannot read " .. dir .. ": is a directory", err2.message)
    end)

    it("limit: a file over the client's size limit is refused before sending", function()
      local c = support.echo_client({ max_upload_bytes = 10 })
      local f, err = c.files.upload{ file = { file_name = "big.jsonl", content = ("x"):rep(11) } }
      assert.is_nil(f)
      assert.same("limit", err.kind)
      assert.same("big.jsonl is 11 bytes, over the limit of 10 bytes", err.message)
      assert(c.files.upload{ file = { file_name = "ok.jsonl", content = ("x"):rep(10) } })
      c:close()
    end)

    it("limit: a file on disk over the limit is sized once and nothing reaches the server", function()
      local c = support.client({ max_upload_bytes = 10 })
      local path = support.write(dir .. "/big11.jsonl", ("x"):rep(11))
      support.reset()
      local f, err = c.files.upload{ file = path }
      assert.is_nil(f)
      assert.same("limit", err.kind)
      assert.same("big11.jsonl is 11 bytes, over the limit of 10 bytes", err.message)
      assert.same(1, err.attempts)
      assert.same({}, support.requests())
      c:close()
    end)

    it("io: a file that shrinks while it is sent fails as read_failed, not as a short body", function()
      local path = support.write(dir .. "/shrinks.bin", ("s"):rep(4 * 1024 * 1024))
      local truncated = false
      local f, err = client.files.upload{ file = path, retry = false, progress = function()
        if not truncated then
          truncated = true
          support.write(path, "")  -- truncates the file libcurl is reading
        end
      end }
      assert.is_nil(f)
      assert.is_true(truncated)
      assert.same("io", err.kind)
      assert.same("read_failed", err.reason)
      assert.same("cannot read '" .. path .. "': the file shrank while it was sent", err.message)
    end)

    it("invalid: validate = true refuses a file that is not JSON Lines, before sending", function()
      local c = support.echo_client()
      local chat = '{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}'
      local f, err = c.files.upload{ file = { file_name = "t.jsonl", content = chat .. '\n[2]\n{"b":\n' }, validate = true }
      assert.is_nil(f)
      assert.same("invalid", err.kind)
      assert.same({ { line = 2, reason = "not a JSON object" },
        { line = 3, reason = "invalid JSON: unexpected end at byte 6" } }, err.problems)
      assert.matches("^t%.jsonl is not valid for purpose fine%-tune: line 2: not a JSON object; line 3: ", err.message)
      local path = support.write(dir .. "/ok.jsonl", chat .. "\n")
      assert(c.files.upload{ file = path, validate = true })
      local _, empty = c.files.upload{ file = { file_name = "e.jsonl", content = "" }, validate = true }
      assert.same({ { line = 0, reason = "the file is empty" } }, empty.problems)
      c:close()
    end)

    it("#big invalid: validate reads a 64 MiB line in bounded memory, reporting it by number", function()
      local path = dir .. "/long.jsonl"
      support.sh(([[printf '{"a":1}\n' > '%s' && head -c %d /dev/zero | tr '\0' x >> '%s' && printf '\n{}\n[]\n' >> '%s']])
        :format(path, 64 * 1024 * 1024, path, path))
      collectgarbage()
      collectgarbage()
      support.reset_peak_rss()
      local before = support.peak_rss_kib()
      local lines, problems = require("mistralai.jsonl").check_file(path)
      local grown = (support.peak_rss_kib() - before) / 1024
      assert.same(4, lines)
      assert.same({ { line = 2, reason = "longer than 4194304 bytes" }, { line = 4, reason = "not a JSON object" } },
        problems)
      assert.is_true(grown < 16, ("peak RSS grew by %.1f MiB"):format(grown))
    end)

    it("network: nothing listening", function()
      local c = mistralai.new{ server_url = "http://127.0.0.1:1", api_key = "k", retry = false }
      local page, err = c.files.list()
      assert.is_nil(page)
      assert.same("network", err.kind)
      assert.is_nil(err.status)
      assert.matches("^mistralai: network: ", tostring(err))
      c:close()
    end)

    it("never shows the key", function()
      local secret = "sk-secret-key-42"
      local c = support.client({ api_key = secret, retry = false })
      local _, err = c.files.retrieve("nope")
      for _, s in ipairs({ tostring(err), err.message, err.body }) do assert.is_false(support.has(s, secret)) end
      for k, v in pairs(err.headers) do assert.is_false(support.has(k .. v, secret)) end
      c:close()
    end)
  end)

  describe("download output", function()
    local id
    setup(function()
      id = assert(client.files.upload{ file = { file_name = "d.txt", content = "payload" } }).id
    end)

    it("leaves no file when the download fails", function()
      local out_dir = support.tmpdir()
      local ok, err = client.files.download("no-such-id", { output = out_dir .. "/x.txt" })
      assert.is_nil(ok)
      assert.same(404, err.status)
      assert.same({}, support.ls(out_dir))
    end)

    it("leaves an existing file untouched when the download fails", function()
      local out = support.write(dir .. "/existing.txt", "precious")
      local ok, err = client.files.download("no-such-id", { output = out })
      assert.is_nil(ok)
      assert.same("http", err.kind)
      assert.same("precious", support.read(out))
    end)

    it("replaces an existing file only when the download succeeds", function()
      local out = support.write(dir .. "/replaced.txt", "old")
      assert.is_true(client.files.download(id, { output = out }))
      assert.same("payload", support.read(out))
    end)

    it("gives io for a folder that does not exist", function()
      local ok, err = client.files.download(id, { output = dir .. "/no/such/dir/x" })
      assert.is_nil(ok)
      assert.same("io", err.kind)
      assert.matches("No such file or directory", err.message)
    end)
  end)

  describe("sink", function()
    local id
    setup(function()
      id = assert(client.files.upload{ file = { file_name = "s.txt", content = ("s"):rep(100000) } }).id
    end)

    it("stops the download by returning false, msg: aborted with that message", function()
      local ok, err = client.files.download(id, { sink = function() return false, "enough" end })
      assert.is_nil(ok)
      assert.same("aborted", err.kind)
      assert.same("enough", err.message)
    end)

    it("stops the download by returning false alone", function()
      local ok, err = client.files.download(id, { sink = function() return false end })
      assert.is_nil(ok)
      assert.same("aborted", err.kind)
    end)

    it("re-raises what it raises, after freeing the transfer", function()
      local boom = { "a table error" }
      local ok, err = pcall(client.files.download, id, { sink = function() error(boom) end })
      assert.is_false(ok)
      assert.equal(boom, err)
      local ok2, err2 = pcall(client.files.download, id, { sink = function() error("boom") end })
      assert.is_false(ok2)
      assert.matches("spec/03%-errors_spec%.lua:%d+: boom$", err2)
      -- the client goes on working
      assert.same(("s"):rep(100000), client.files.download(id))
    end)

    it("once it raised, no further callback of the transfer runs, and its error is the one raised", function()
      local after = {}
      local first = { "first" }
      local ok, err = pcall(client.files.download, id, {
        sink = function() if after.sink then after.sink = after.sink + 1 else after.sink = 0 error(first) end end,
        progress = function() if after.sink then error({ "second" }) end end,
      })
      assert.is_false(ok)
      assert.equal(first, err)
      assert.same({ sink = 0 }, after)
    end)

    it("goes on for any other return value", function()
      local n = 0
      assert.is_true(client.files.download(id, { sink = function(c) n = n + #c return nil end }))
      assert.same(100000, n)
    end)
  end)
end)
