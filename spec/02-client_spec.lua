-- The client: options and their defaults, the key, connection reuse, lifetime.
local mistralai = require("mistralai")
local support = require("support")
local json = require("mistralai.json")

describe("client", function()
  it("has a version", function()
    assert.is_string(mistralai._VERSION)
    assert.matches("^%d+%.%d+%.%d+$", mistralai._VERSION)
  end)

  describe("server_url", function()
    for _, suffix in ipairs({ "", "/", "/v1", "/v1/" }) do
      it("tolerates '" .. suffix .. "' and never doubles /v1", function()
        local c = mistralai.new{ server_url = support.url .. "/_local/echo" .. suffix, api_key = "k" }
        local got = assert(c.files.retrieve("x"))
        assert.same("/_local/echo/v1/files/x", got.uri)
        c:close()
      end)
    end

    it("defaults to MISTRAL_SERVER_URL, then to the real API", function()
      local out = support.run_lua([[
        local c = require("mistralai").new{ api_key = "k" }
        print(c.server_url)
      ]], { env = { MISTRAL_SERVER_URL = false } })
      assert.same("https://api.mistral.ai\n", out)
      local echo = support.run_lua([[
        local got = assert(require("mistralai").new{ api_key = "k" }.files.retrieve("x"))
        print(got.uri)
      ]], { env = { MISTRAL_SERVER_URL = support.url .. "/_local/echo/" } })
      assert.same("/_local/echo/v1/files/x\n", echo)
    end)

    it("must be http or https", function()
      assert.has_error(function() mistralai.new{ server_url = "file:///etc" } end,
        "bad argument #1 to 'new' (option 'server_url' must be an http:// or https:// URL)")
    end)
  end)

  describe("api_key", function()
    local function auth_header(opts, env)
      local code = ([[
        local json = require("mistralai.json")
        local c = require("mistralai").new(%s)
        local got = assert(c.files.retrieve("x"))
        print(got.header:match("\r\nAuthorization: ([^\r]*)") or "none")
      ]]):format(opts)
      env = env or {}
      env.MISTRAL_SERVER_URL = support.url .. "/_local/echo"
      return support.run_lua(code, { env = env })
    end

    it("comes from the option, else MISTRAL_API_KEY, else is not sent", function()
      assert.same("Bearer opt\n", auth_header("{ api_key = 'opt' }", { MISTRAL_API_KEY = "env" }))
      assert.same("Bearer env\n", auth_header("{}", { MISTRAL_API_KEY = "env" }))
      assert.same("none\n", auth_header("{}", { MISTRAL_API_KEY = false }))
      assert.same("none\n", auth_header("{ api_key = '' }", { MISTRAL_API_KEY = false }))
    end)

    it("is not doubled when it already starts with Bearer", function()
      assert.same("Bearer abc\n", auth_header("{ api_key = 'Bearer abc' }"))
      assert.same("bearer abc\n", auth_header("{ api_key = 'bearer abc' }"))
    end)

    it("may be a function, called for each request", function()
      local n = 0
      local c = support.echo_client({ api_key = function() n = n + 1 return "key-" .. n end })
      local a = assert(c.files.retrieve("x"))
      local b = assert(c.files.retrieve("x"))
      assert.is_true(support.has(a.header, "Authorization: Bearer key-1\r\n"))
      assert.is_true(support.has(b.header, "Authorization: Bearer key-2\r\n"))
      c:close()
    end)

    it("is asked for again on each attempt of a retried call", function()
      support.reset()
      local keys = {}
      local c = support.client({ retry = { initial_interval = 10, jitter = 0 },
        api_key = function() keys[#keys + 1] = support.api_key return support.api_key end })
      support.fault{ kind = "status", status = 503, times = 2, method = "GET" }
      local _, _, response = assert(c.files.list{ page_size = 1 })
      assert.same(3, response.attempts)
      assert.same(3, #keys)
      c:close()
    end)

    it("is refused with CR or LF before anything is sent", function()
      local c = support.echo_client({ api_key = "k\r\nX-Injected: 1" })
      local ok, err = pcall(c.files.retrieve, "x")
      assert.is_false(ok)
      assert.matches("api_key holds CR, LF or NUL", err)
      assert.is_false(support.has(err, "Injected"))
      c:close()
    end)

    it("gives 401 with a JSON body when wrong or missing", function()
      for _, key in ipairs({ "wrong", "" }) do
        local c = support.client({ api_key = key })
        local page, err = c.files.list()
        assert.is_nil(page)
        assert.same("http", err.kind)
        assert.same(401, err.status)
        assert.same("Unauthorized", err.message)
        assert.same({ detail = "Unauthorized" }, json.decode(err.body))
        c:close()
      end
    end)
  end)

  it("reuses one connection for consecutive calls", function()
    local c = support.client()
    local seen = {}
    for i = 1, 10 do
      local _, _, response = assert(c.files.list{ page_size = 1 })
      seen[i] = response.headers["x-local-connection"]
    end
    local f = assert(c.files.upload{ file = { file_name = "r.txt", content = "r" } })
    local _, _, r1 = c.files.retrieve(f.id)
    local _, _, r2 = c.files.download(f.id)
    assert.is_string(seen[1])
    for i = 2, 10 do assert.same(seen[1], seen[i]) end
    assert.same(seen[1], r1.headers["x-local-connection"])
    assert.same(seen[1], r2.headers["x-local-connection"])
    c:close()
  end)

  it("sends extra headers on every request, a call's replacing the client's", function()
    local c = support.echo_client({ headers = { ["X-Trace"] = "client", ["X-Other"] = "o" } })
    local got = assert(c.files.list({ headers = { ["x-trace"] = "call" } }))
    assert.is_true(support.has(got.header, "\r\nx-trace: call\r\n"))
    assert.is_false(support.has(got.header:lower(), "x-trace: client"))
    assert.is_true(support.has(got.header, "\r\nX-Other: o\r\n"))
    c:close()
  end)

  describe("lifetime", function()
    it("closes idempotently and refuses calls afterwards", function()
      local c = support.client()
      assert.matches("^mistralai client %(http://127%.0%.0%.1:%d+%)$", tostring(c))
      c:close()
      c:close()
      assert.matches(", closed%)$", tostring(c))
      assert.has_error(function() c.files.list() end, "mistralai: the client is closed")
    end)

    it("is freed when collected", function()
      local c = support.client()
      assert(c.files.list{ page_size = 1 })
      local weak = setmetatable({ c }, { __mode = "v" })
      c = nil -- luacheck: ignore 311
      collectgarbage()
      collectgarbage()
      assert.is_nil(weak[1])
    end)

    if _VERSION == "Lua 5.4" then
      it("closes on leaving a <close> scope (Lua 5.4)", function()
        local c = support.client()
        local run = load([[
          local c <close> = ...
          assert(c.files.list{ page_size = 1 })
        ]])
        run(c)
        assert.matches(", closed%)$", tostring(c))
      end)
    end
  end)

  it("keeps the key out of tostring and of everything reachable from the client", function()
    local secret = "sk-very-secret-0123456789"
    local c = support.echo_client({ api_key = secret })
    assert(c.files.list{ page_size = 1 })
    local seen = {}
    local function walk(v)
      if seen[v] then return end
      local t = type(v)
      if t == "string" then
        assert.is_false(support.has(v, secret))
        return
      end
      if t ~= "table" and t ~= "userdata" then return end
      seen[v] = true
      assert.is_false(support.has(tostring(v), secret))
      local mt = debug.getmetatable(v)
      if mt then walk(mt) end
      if t == "table" then
        for k, x in pairs(v) do walk(k) walk(x) end
      end
    end
    walk(c)
    walk(c.files)
    c:close()
  end)
end)
