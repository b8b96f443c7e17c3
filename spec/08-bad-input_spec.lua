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
      { "a\0b", "a%00b", false }, { "\255\254", "%FF%FE", true }, { "a.b", "a.b", true },
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
      { "line\r\nbreak.jsonl", "line%0D%0Abreak.jsonl" },
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
end)
