-- The API contract over HTTPS and HTTP/2, as the real API speaks it: a second local server
-- with TLS and HTTP/2, its certificate signed by a throwaway CA (mistralai.server.pki makes
-- both with openssl) and trusted through ca_file. Its access log tells each request's
-- connection and protocol.
local core = require("mistralai.core")
local encode = require("mistralai.encode")
local json = require("mistralai.json")
local mistralai = require("mistralai")
local make_ca = require("mistralai.server.pki").make
local support = require("support")

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

describe("HTTPS and HTTP/2", function()
  local dir, pki, server, client

  -- The TLS server's test controls (support's talk to the suite's own server).
  local function control(what, params)
    local pairs_ = {}
    for k, v in pairs(params or {}) do pairs_[#pairs_ + 1] = { k, tostring(v) } end
    table.sort(pairs_, function(a, b) return a[1] < b[1] end)
    local out = support.sh(("curl -sS --cacert %s %s"):format(q(pki.ca),
      q(("%s/_local/%s?%s"):format(server.url, what, encode.query(pairs_)))))
    return assert(json.decode(out), out)
  end
  local function fault(params) return control("fault", params) end

  -- The access log: where it ends now, and the API requests logged after such a mark, each
  -- { connection, protocol, method, uri, status }. A line is written as its request ends, a
  -- moment after the client has its answer: wait for the count expected.
  -- The log's length once it is still: nginx logs a request just after answering it, so a
  -- request answered a moment ago may not be in it yet.
  local function mark()
    local size = -1
    for _ = 1, 100 do
      local now = #(support.read(server.access_log) or "")
      if now == size then return size end
      size = now
      core.sleep(0.02)
    end
    return size
  end
  local function since(at, expected)
    local entries
    for _ = 1, 200 do
      entries = {}
      for line in (support.read(server.access_log) or ""):sub(at + 1):gmatch("[^\n]+") do
        local c, _, proto, method, uri, status = line:match("^(%d+) (%d+) (%S+) (%S+) (%S+) (%d+)$")
        assert(c, "unexpected access log line: " .. line)
        if uri:find("^/v1/") then
          entries[#entries + 1] = { connection = c, protocol = proto, method = method, uri = uri,
            status = tonumber(status) }
        end
      end
      if #entries >= (expected or 0) then break end
      core.sleep(0.01)
    end
    return entries
  end
  local function connections(entries)
    local set, n = {}, 0
    for _, e in ipairs(entries) do
      if not set[e.connection] then set[e.connection], n = true, n + 1 end
    end
    return n, set
  end

  local function new_client(opts)
    opts = opts or {}
    opts.server_url = opts.server_url or server.url
    opts.api_key = server.api_key
    if opts.ca_file == nil then opts.ca_file = pki.ca end
    if opts.ca_file == false then opts.ca_file = nil end
    return mistralai.new(opts)
  end

  setup(function()
    dir = support.tmpdir()
    pki = make_ca(dir, "test")
    server = require("mistralai.server").start{ tls = { cert = pki.cert, key = pki.key, http2 = true },
      control = true, access_log = true }
    client = new_client()
  end)
  teardown(function()
    if client then client:close() end
    if server then server:stop() end
    support.sh("rm -rf " .. q(dir))
  end)
  before_each(function() control("reset") end)

  it("serves all six operations over HTTPS, each request on HTTP/2", function()
    assert.matches("^https://127%.0%.0%.1:%d+$", server.url)
    local at = mark()
    local content = '{"messages":[{"role":"user","content":"over h2"}]}\n'
    local f = assert(client.files.upload{ file = { file_name = "h2.jsonl", content = content }, purpose = "batch" })
    assert.same(#content, f.bytes)
    assert.same(1, f.num_lines)
    local page = assert(client.files.list{ purpose = "batch" })
    local listed = false
    for _, e in ipairs(page.data) do listed = listed or e.id == f.id end
    assert.is_true(listed)
    assert.same(f.id, assert(client.files.retrieve(f.id)).id)
    assert.is_true(client.files.download(f.id) == content)
    local signed = assert(client.files.get_signed_url(f.id, { expiry = 1 }))
    -- the URL serves the content without the key, over HTTPS too
    assert.equal(server.url .. "/signed/" .. f.id .. "?", signed.url:sub(1, #server.url + #f.id + 9))
    assert.same(content, support.sh(("curl -sS --cacert %s %s"):format(q(pki.ca), q(signed.url))))
    assert.is_true(assert(client.files.delete(f.id)).deleted)
    local log = since(at, 6)
    local methods = {}
    for _, e in ipairs(log) do
      methods[#methods + 1] = e.method
      assert.same("HTTP/2.0", e.protocol, e.uri)
      assert.same(200, e.status, e.uri)
    end
    assert.same({ "POST", "GET", "GET", "GET", "GET", "DELETE" }, methods)
  end)

  it("#big 300 MiB up and down over HTTPS/HTTP2, byte-exact", function()
    local size = 300 * 1024 * 1024
    local src = support.random_file(dir .. "/big.bin", size)
    local out = dir .. "/big-out.bin"
    local at = mark()
    local t0 = core.now()
    local f = assert(client.files.upload{ file = src, purpose = "batch" })
    local up = core.now() - t0
    assert.is_true(client.files.download(f.id, { output = out }))
    local down = core.now() - t0 - up
    assert.same(size, f.bytes)
    assert.same(support.sha256_file(src), support.sha256_file(out))
    for _, e in ipairs(since(at, 2)) do assert.same("HTTP/2.0", e.protocol) end
    print(("\n  300 MiB over HTTPS/HTTP2: up %.2f s, down %.2f s"):format(up, down))
    assert(client.files.delete(f.id))
    support.sh("rm -f " .. q(src) .. " " .. q(out))
  end)

  describe("retries", function()
    local fast = { initial_interval = 20, exponent = 1, jitter = 0 }

    it("a GET after a 503, on the open connection", function()
      local c = new_client()  -- one connection open, the one to stay on
      assert(c.files.list{ page_size = 1 })
      local at = mark()
      fault{ kind = "status", status = 503, method = "GET", times = 2 }
      local page, err, response = c.files.list{ page_size = 1, retry = fast }
      c:close()
      assert.is_nil(err)
      assert.same("list", page.object)
      assert.same(3, response.attempts)
      local log = since(at, 3)
      assert.same({ 503, 503, 200 }, { log[1].status, log[2].status, log[3].status })
      assert.same(1, (connections(log)))
      assert.same("HTTP/2.0", log[3].protocol)
    end)

    it("an upload after a 503, each attempt on a connection of its own", function()
      local at = mark()
      fault{ kind = "status", status = 503, method = "POST" }
      local f, err, response = client.files.upload{ file = { file_name = "again.txt", content = "again" },
        retry = fast }
      assert.is_nil(err)
      assert.same(2, response.attempts)
      local log = since(at, 2)
      assert.same({ 503, 200 }, { log[1].status, log[2].status })
      assert.same(2, (connections(log)))
      assert.same("again", client.files.download(f.id))
    end)

    it("a 503 for ever: the last 503, every attempt counted", function()
      fault{ kind = "status", status = 503, method = "GET", times = 100 }
      local page, err = client.files.retrieve("missing", { retry = { initial_interval = 10, exponent = 1,
        jitter = 0, max_elapsed_time = 100 } })
      assert.is_nil(page)
      assert.same("http", err.kind)
      assert.same(503, err.status)
      assert.is_true(err.attempts >= 3, "attempts " .. err.attempts)
    end)
  end)

  describe("connections", function()
    it("gather: 32 concurrent retrieves of a new client multiplexed on one connection", function()
      local f = assert(client.files.upload{ file = { file_name = "many.txt", content = "many" } })
      local c = new_client()  -- no connection yet: the 32 wait for the first one (CURLOPT_PIPEWAIT)
      local at = mark()
      local fns = {}
      for i = 1, 32 do fns[i] = function() return c.files.retrieve(f.id) end end
      local results = c:gather(fns, { concurrency = 32 })
      c:close()
      for i, r in ipairs(results) do
        assert.is_nil(r[2], "retrieve " .. i)
        assert.same(f.id, r[1].id)
      end
      -- the 32 retrieves only: nginx logs a request once it is answered, so the upload's line
      -- may come after the mark
      local log = {}
      for _, e in ipairs(since(at, 32)) do
        if e.method == "GET" and e.uri == "/v1/files/" .. f.id then log[#log + 1] = e end
      end
      assert.same(32, #log)
      assert.same(1, (connections(log)))
      for _, e in ipairs(log) do assert.same("HTTP/2.0", e.protocol) end
    end)

    it("uploads go on a fresh connection each; GETs reuse one", function()
      local before = since(0)  -- every connection the client may have open
      local _, seen = connections(before)
      local at = mark()
      local ids = {}
      for i = 1, 5 do
        ids[i] = assert(client.files.upload{ file = { file_name = "u" .. i .. ".txt", content = "u" .. i } }).id
        assert(client.files.retrieve(ids[i]))
      end
      local log = since(at, 10)
      local uploads = {}
      for _, e in ipairs(log) do
        if e.method == "POST" then
          assert.is_nil(seen[e.connection], "an upload rode connection " .. e.connection)
          uploads[#uploads + 1] = e
        else
          assert.is_true(seen[e.connection], "a GET opened connection " .. e.connection)
        end
        seen[e.connection] = true
      end
      assert.same(5, #uploads)
      assert.same(5, (connections(uploads)))
    end)

    it("concurrent uploads in gather: a connection each, none shared", function()
      local at = mark()
      local fns = {}
      for i = 1, 8 do
        fns[i] = function() return client.files.upload{ file = { file_name = "g" .. i .. ".txt", content = "g" } } end
      end
      for i, r in ipairs(client:gather(fns, { concurrency = 8 })) do assert.is_nil(r[2], "upload " .. i) end
      assert.same(8, (connections(since(at, 8))))
    end)

    it("with retry_uploads = true an upload rides the open connection", function()
      local c = new_client()
      local at = mark()
      assert(c.files.list{ page_size = 1 })
      for i = 1, 3 do
        assert(c.files.upload{ file = { file_name = "r" .. i .. ".txt", content = "r" }, retry = { retry_uploads = true } })
      end
      assert(c.files.list{ page_size = 1 })
      c:close()
      assert.same(1, (connections(since(at, 5))))
    end)

    it("#timing what a fresh TLS connection per upload costs", function()
      local n = 200
      local content = ("x"):rep(1024)
      local function run(retry)
        local t0 = core.now()
        for i = 1, n do
          assert(client.files.upload{ file = { file_name = "t" .. i .. ".txt", content = content }, retry = retry })
        end
        return (core.now() - t0) / n * 1000
      end
      assert(client.files.list{ page_size = 1 })
      run({ retry_uploads = true })  -- warm-up
      local reused = run({ retry_uploads = true })  -- these may reuse the open connection
      local fresh = run(nil)  -- the default: a new connection, with its TLS handshake, for each
      local t0 = core.now()
      for _ = 1, n do assert(client.files.list{ page_size = 1 }) end
      local get = (core.now() - t0) / n * 1000
      print(("\n  %d uploads of 1 KiB over HTTPS/HTTP2: %.2f ms each on a fresh connection, %.2f ms reusing one"
        .. " (+%.2f ms); a list: %.2f ms"):format(n, fresh, reused, fresh - reused, get))
      assert.is_true(fresh > reused, "a fresh connection cost nothing?")
      assert.is_true(fresh - reused < 20, ("a fresh connection costs %.2f ms"):format(fresh - reused))
    end)
  end)

  describe("the certificate is verified", function()
    it("without ca_file: tls_verify, not retried", function()
      local c = new_client{ ca_file = false }
      local page, err = c.files.list()
      assert.is_nil(page)
      assert.same("network", err.kind)
      assert.same("tls_verify", err.reason)
      assert.same(1, err.attempts)
      c:close()
    end)

    it("with another CA: tls_verify", function()
      local other = make_ca(dir, "other")
      local c = new_client{ ca_file = other.ca }
      local _, err = c.files.list()
      assert.same("tls_verify", err.reason)
      c:close()
    end)

    it("for another name than the certificate's (localhost, not 127.0.0.1): tls_verify", function()
      local c = new_client{ server_url = server.url:gsub("127%.0%.0%.1", "localhost") }
      local _, err = c.files.list()
      assert.same("network", err.kind)
      assert.same("tls_verify", err.reason)
      c:close()
    end)
  end)
end)
