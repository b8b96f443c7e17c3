-- Bad input gets a clear error and loses nothing; odd ids and file names are encoded so they
-- can neither reach another endpoint nor break the multipart framing.
local support = require("support")

describe("bad input", function()
  local client, echo, dir
  setup(function()
    client = support.client({ retry = false })
    echo = support.echo_client({ retry = false })
    dir = support.tmpdir()
  end)
  teardown(function()
    client:close()
    echo:close()
  end)

  describe("ids", function()
    -- { id, as sent, does nginx let it through to the echo? }
    local cases = {
      { "a/b", "a%2Fb", true }, { "..", "%2E%2E", true }, { ".", "%2E", true }, { "../x", "..%2Fx", true },
      { "a?b", "a%3Fb", true }, { "a#b", "a%23b", true }, { "100%", "100%25", true }, { "a b", "a%20b", true },
      { "\255\254", "%FF%FE", true }, { "a.b", "a.b", true },
    }
    for _, case in ipairs(cases) do
      it(("%q is sent as %s and stays an id"):format(case[1], case[2]), function()
        local sent = {}
        local c = support.client({ retry = false, debug = function(line) sent[#sent + 1] = line end })
        c.files.retrieve(case[1])
        assert.matches("^> GET http://[^/]+/v1/files/" .. case[2]:gsub("%p", "%%%0") .. " ", sent[1])
        c:close()
        if case[3] then  -- the server saw exactly this path
          local got = assert(echo.files.retrieve(case[1]))
          assert.same("/_local/echo/v1/files/" .. case[2], got.uri)
          local signed = assert(echo.files.get_signed_url(case[1]))
          assert.same("/_local/echo/v1/files/" .. case[2] .. "/url?expiry=24", signed.uri)
        end
        local f, err = client.files.retrieve(case[1])
        assert.is_nil(f)
        assert.same("http", err.kind)
        assert.is_true(err.status == 404 or err.status == 400, tostring(err))
      end)
    end
  end)

  describe("upload paths", function()
    -- The upload runs in a child process: a regression must not hang the suite.
    local function upload_in_child(path, prefix)
      return support.run_lua(([[
        local c = require("mistralai").new{ server_url = %q, api_key = "k", retry = false }
        local _, err = c.files.upload{ file = %q }
        io.write(err.kind, ": ", err.message)
      ]]):format(support.url .. "/_local/echo", path), { prefix = prefix })
    end

    it("a FIFO is refused at once, not opened (that would block)", function()
      local fifo = dir .. "/fifo"
      support.sh("mkfifo '" .. fifo .. "'")
      assert.same("io: cannot read " .. fifo .. ": is not a regular file", upload_in_child(fifo, "timeout 10"))
    end)

    it("an unreadable file is refused before anything is sent", function()
      local path = support.write(dir .. "/secret.jsonl", "{}\n")
      -- root reads anything, so the check runs as nobody when the suite runs as root, from a
      -- copy of the rock that nobody can read (the checkout may be private)
      local as = ""
      if support.sh("id -u"):match("^0") then
        local build = os.getenv("MISTRALAI_TEST_BUILD") or ("build/" .. (os.getenv("MISTRALAI_TEST_LUA") or "lua5.4"))
        support.sh(("mkdir -p '%s/rock/build' && cp -r lua '%s/rock/' && cp -r %s '%s/rock/%s' && chmod -R a+rX '%s'")
          :format(dir, dir, build, dir, build, dir))
        as = ("cd '%s/rock' && setpriv --reuid=65534 --regid=65534 --clear-groups"):format(dir)
      end
      support.sh("chmod 000 '" .. path .. "'")
      assert.same("io: cannot read " .. path .. ": Permission denied", upload_in_child(path, as .. " timeout 10"))
    end)
  end)

  describe("file names", function()
    local names = {
      { 'say "hi".jsonl', 'say %22hi%22.jsonl' },
      { "back\\slash.jsonl", "back\\slash.jsonl" },
      { "caf\195\169 \230\151\165\230\156\172.jsonl", "caf\195\169 \230\151\165\230\156\172.jsonl" },
    }
    for _, case in ipairs(names) do
      it(("%q is escaped as browsers do and comes back intact"):format(case[1]), function()
        local got = assert(echo.files.upload{ file = { file_name = case[1], content = "{}\n" }, purpose = "batch" })
        assert.is_true(support.has(got.body, 'name="file"; filename="' .. case[2] .. '"\r\n'), got.body)
        assert.is_true(support.has(got.body, 'name="purpose"\r\n\r\nbatch\r\n'), got.body)
        local f = assert(client.files.upload{ file = { file_name = case[1], content = "{}\n" }, purpose = "batch" })
        assert.same(case[1], f.filename)
        assert.same("batch", f.purpose)
      end)
    end
  end)
  -- Every number an option or argument takes is checked against its range: NaN, the
  -- infinities and out-of-range values are argument errors, before anything is sent.
  describe("numbers", function()
    local NAN, INF = 0 / 0, math.huge
    local new = function(o) o.api_key = "k" return support.client(o) end
    local cases = {  -- { what, call(value), bad values }
      { "timeout_ms", function(v) new{ timeout_ms = v } end, { NAN, INF, 0, 1e300, 1.5 } },
      { "connect_timeout_ms", function(v) new{ connect_timeout_ms = v } end, { NAN, -INF, 0, 2 ^ 31 } },
      { "stall_timeout_ms", function(v) new{ stall_timeout_ms = v } end, { NAN, 999, 2 ^ 31 } },
      { "stall_bytes_per_s", function(v) new{ stall_bytes_per_s = v } end, { NAN, -1, 2 ^ 31 } },
      { "max_redirects", function(v) new{ max_redirects = v } end, { NAN, -1, 2 ^ 40 } },
      { "max_upload_bytes", function(v) new{ max_upload_bytes = v } end, { NAN, -1, 1e300 } },
      { "max_response_bytes", function(v) new{ max_response_bytes = v } end, { NAN, 0, 2 ^ 31 } },
      { "max_send_bytes_per_s", function(v) new{ max_send_bytes_per_s = v } end, { NAN, 0, INF } },
      { "max_recv_bytes_per_s", function(v) new{ max_recv_bytes_per_s = v } end, { NAN, 0, INF } },
      { "retry.initial_interval", function(v) new{ retry = { initial_interval = v } } end, { NAN, -1, INF } },
      { "retry.max_interval", function(v) new{ retry = { max_interval = v } } end, { NAN, -1, INF } },
      { "retry.max_elapsed_time", function(v) new{ retry = { max_elapsed_time = v } } end, { NAN, -1, INF } },
      { "retry.jitter", function(v) new{ retry = { jitter = v } } end, { NAN, -1, INF } },
      { "retry.exponent", function(v) new{ retry = { exponent = v } } end, { NAN, 0, 0.5, 11, INF } },
      { "retry.status_codes", function(v) new{ retry = { status_codes = { v } } } end, { NAN, 99, 600, 503.5 } },
      { "page", function(v) client.files.list{ page = v } end, { NAN, -1, 2 ^ 63 } },
      { "page_size", function(v) client.files.list{ page_size = v } end, { NAN, -1, INF } },
      { "expiry (upload)", function(v)
        client.files.upload{ file = { file_name = "n.txt", content = "n" }, expiry = v }
      end, { NAN, -1, 0, INF } },
      { "expiry (get_signed_url)", function(v) client.files.get_signed_url("x", { expiry = v }) end, { NAN, 0, 169 } },
      { "timeout_ms (a call's)", function(v) client.files.list{ timeout_ms = v } end, { NAN, 0, INF } },
      { "max_string_bytes", function(v) client.files.download("x", { max_string_bytes = v }) end, { NAN, 0, INF } },
      { "file.size", function(v)
        client.files.upload{ file = { file_name = "n.txt", reader = function() end, size = v } }
      end, { NAN, -1, INF } },
      { "concurrency", function(v) client:gather({}, { concurrency = v }) end, { NAN, 0, INF } },
    }
    for _, case in ipairs(cases) do
      it(case[1] .. " refuses NaN, the infinities and values out of its range", function()
        for _, bad in ipairs(case[3]) do
          local ok, err = pcall(case[2], bad)
          assert.is_false(ok, case[1] .. " took " .. tostring(bad))
          assert.matches("bad argument #%d to '[%w_]+' %(.*" .. case[1]:match("^[%w_.]+"):match("[%w_]+$"), err)
        end
      end)
    end
  end)

  it("a list filter that is not a sequence is an argument error, not dropped", function()
    for _, bad in ipairs({ { x = "instruct" }, { "a", nil, "c" }, { [0] = "a" } }) do
      assert.has_error(function() client.files.list{ sample_type = bad } end)
      local ok, err = pcall(client.files.list, { source = bad })
      assert.is_false(ok)
      assert.matches("bad argument #1 to 'list' %(option 'source' must be a list", err)
    end
  end)

  -- A CR, LF or NUL in a string that reaches a request line, a header or a part header could
  -- start a line of its own: an argument error, before anything is sent.
  describe("strings that reach the wire", function()
    local upload = function(o)
      o.file = o.file or { file_name = "s.txt", content = "s" }
      return client.files.upload(o)
    end
    local cases = {
      { "content_type", function(v) upload{ content_type = v } end },
      { "file.content_type", function(v) upload{ file = { file_name = "s.txt", content = "s", content_type = v } } end },
      { "file_name", function(v) upload{ file_name = "a" .. v } end },
      { "file.file_name", function(v) upload{ file = { file_name = "a" .. v, content = "s" } } end },
      { "the file's name", function(v) upload{ file = dir .. "/a" .. v } end },
      { "purpose", function(v) upload{ purpose = v } end },
      { "visibility", function(v) upload{ visibility = v } end },
      { "file_id", function(v) client.files.retrieve("a" .. v) end },
      { "file_id", function(v) client.files.download("a" .. v) end },
      { "search", function(v) client.files.list{ search = v } end },
      { "mimetypes", function(v) client.files.list{ mimetypes = { "text/plain", v } } end },
      { "header", function(v) client.files.list{ headers = { ["X-A"] = v } } end },
      { "server_url", function(v) support.client{ server_url = support.url .. v } end },
      { "proxy", function(v) support.client{ proxy = "http://127.0.0.1:1" .. v } end },
      { "no_proxy", function(v) support.client{ no_proxy = "a" .. v } end },
    }
    for _, case in ipairs(cases) do
      it(case[1] .. " refuses CR, LF and NUL, sending nothing", function()
        support.reset()
        for _, bad in ipairs({ "x\r\nX-Injected: 1", "x\ny", "x\0y", "\r" }) do
          local ok, err = pcall(case[2], bad)
          assert.is_false(ok, case[1] .. " took " .. ("%q"):format(bad))
          assert.matches("bad argument #%d to '[%w_]+' %(.*CR, LF or NUL", err)
        end
        assert.same({}, support.requests())
      end)
    end
  end)
end)
