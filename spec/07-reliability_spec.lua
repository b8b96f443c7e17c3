-- Retries, timeouts and every fault the local server injects: each either recovered, with its
-- attempts and waits checked, or a clear nil, err of the right kind. Never a hang, a partial
-- output file or a leaked descriptor.
local core = require("mistralai.core")
local support = require("support")

local fast = { initial_interval = 50, exponent = 1, jitter = 0, max_elapsed_time = 10000 }

local function timed(fn)
  local t0 = core.now()
  local a, b, c = fn()
  return core.now() - t0, a, b, c
end

describe("reliability", function()
  local client, dir, fds
  setup(function()
    support.reset()
    collectgarbage()
    fds = support.open_resources()
    client = support.client({ retry = fast })
    dir = support.tmpdir()
  end)
  teardown(function()
    support.reset()  -- first: faults left queued must not reach the next spec file
    client:close()
    collectgarbage()
    assert.same(fds, support.open_resources())  -- every fault above closed its connections and files
  end)
  before_each(function() support.reset() end)

  local function upload(c, content, opts)
    opts = opts or {}
    opts.file = { file_name = "r.txt", content = content or "retry me" }
    return c.files.upload(opts)
  end

  describe("retries", function()
    for _, status in ipairs({ 500, 502, 503, 504 }) do
      it("#timing GET retries " .. status .. " twice, then succeeds", function()
        support.fault{ kind = "status", status = status, times = 2, method = "GET", path = "/v1/files" }
        local page, err, response = client.files.list{ retry = { initial_interval = 100, exponent = 2 } }
        assert.is_nil(err)
        assert.same("list", page.object)
        assert.same(3, response.attempts)
        local gaps = support.gaps(support.requests())
        assert.same(2, #gaps)
        assert.is_true(gaps[1] >= 0.095 and gaps[1] < 0.125, "first wait " .. gaps[1])  -- 100 ms, +25% at most
        assert.is_true(gaps[2] >= 0.19 and gaps[2] < 0.25, "second wait " .. gaps[2])  -- 200 ms
      end)
    end

    it("DELETE is retried like GET", function()
      local f = assert(upload(client, "to delete"))
      support.reset()
      support.fault{ kind = "status", status = 502, method = "DELETE" }
      local d, err, response = client.files.delete(f.id)
      assert.is_nil(err)
      assert.is_true(d.deleted)
      assert.same(2, response.attempts)
    end)

    it("#timing waits what Retry-After asks in seconds, over the computed delay", function()
      support.fault{ kind = "status", status = 429, retry_after = "1", method = "GET" }
      local f, err, response = client.files.list()
      assert.is_nil(err)
      assert.is_table(f)
      assert.same(2, response.attempts)
      local gap = support.gaps(support.requests())[1]
      assert.is_true(gap >= 0.98 and gap < 1.25, "waited " .. gap)
    end)

    it("#timing waits what Retry-After asks as an HTTP date", function()
      local date = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + 2)
      support.fault{ kind = "status", status = 503, retry_after = date, method = "GET" }
      local _, err, response = client.files.list()
      assert.is_nil(err)
      assert.same(2, response.attempts)
      local gap = support.gaps(support.requests())[1]
      -- an HTTP date counts whole seconds: 2 s ahead is a wait of 1 to 2 s
      assert.is_true(gap >= 0.9 and gap < 2.25, "waited " .. gap)
    end)

    it("#timing caps Retry-After at max_interval", function()
      support.fault{ kind = "status", status = 429, retry_after = "30", method = "GET" }
      local _, err = client.files.list{ retry = { max_interval = 200 } }
      assert.is_nil(err)
      local gap = support.gaps(support.requests())[1]
      assert.is_true(gap >= 0.19 and gap < 0.25, "waited " .. gap)
    end)

    it("#timing caps computed waits at max_interval too", function()
      support.fault{ kind = "status", status = 503, method = "GET" }
      local _, err = client.files.list{ retry = { initial_interval = 1000, max_interval = 150 } }
      assert.is_nil(err)
      local gap = support.gaps(support.requests())[1]
      assert.is_true(gap >= 0.14 and gap < 0.1875, "waited " .. gap)
    end)

    it("#timing never waits less than initial_interval, whatever Retry-After says: 0, a past date", function()
      for _, after in ipairs({ "0", os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() - 3600) }) do
        support.reset()
        support.fault{ kind = "status", status = 503, retry_after = after, times = 2, method = "GET" }
        local _, err, response = client.files.list{ retry = { initial_interval = 200 } }
        assert.is_nil(err)
        assert.same(3, response.attempts)
        for _, gap in ipairs(support.gaps(support.requests())) do
          assert.is_true(gap >= 0.19 and gap < 0.25, after .. ": waited " .. gap)
        end
      end
    end)

    it("#timing a server that answers Retry-After: 0 for ever gets one attempt per 500 ms, by default", function()
      support.fault{ kind = "status", status = 429, retry_after = "0", times = 1000, method = "GET" }
      local c = support.client({ retry = { max_elapsed_time = 2000 } })
      local _, err = c.files.list()
      c:close()
      assert.same(429, err.status)
      assert.is_true(err.attempts >= 4 and err.attempts <= 5, err.attempts .. " attempts in 2 s")
    end)

    it("#timing backs off on a 429 that has only rate-limit headers", function()
      support.fault{ kind = "status", status = 429, ratelimit = 1, method = "GET" }
      local _, err, response = client.files.list{ retry = { initial_interval = 150 } }
      assert.is_nil(err)
      assert.same(2, response.attempts)
      local gap = support.gaps(support.requests())[1]
      assert.is_true(gap >= 0.14 and gap < 0.1875, "waited " .. gap)
    end)

    it("#timing adds up to `jitter` ms at random", function()
      support.fault{ kind = "status", status = 503, times = 4, method = "GET" }
      local _, err = client.files.list{ retry = { initial_interval = 10, jitter = 300 } }
      assert.is_nil(err)
      local gaps = support.gaps(support.requests())
      for _, gap in ipairs(gaps) do
        assert.is_true(gap >= 0.009 and gap < 0.31 * 1.25, "waited " .. gap)
      end
      table.sort(gaps)  -- present: four waits all within 10 ms of each other have odds of ~1e-5
      assert.is_true(gaps[#gaps] - gaps[1] > 0.01, "no jitter: " .. table.concat(gaps, ", "))
    end)

    it("never retries a 404", function()
      local f, err = client.files.retrieve("missing")
      assert.is_nil(f)
      assert.same(404, err.status)
      assert.same(1, err.attempts)
    end)

    it("returns the last real error, with the attempts, once the budget is spent", function()
      support.fault{ kind = "status", status = 503, times = 1000, method = "GET" }
      local elapsed, page, err = timed(function() return client.files.list{ retry = { max_elapsed_time = 300 } } end)
      assert.is_nil(page)
      assert.same("http", err.kind)
      assert.same(503, err.status)
      assert.same("Injected fault 503", err.message)
      assert.is_true(err.attempts >= 4, "attempts " .. err.attempts)
      assert.same(err.attempts, #support.requests())
      assert.is_true(elapsed < 1, "took " .. elapsed)
      assert.matches("after %d+ attempts$", tostring(err))
    end)

    it("is off with retry = false, on the client or per call", function()
      local off = support.client({ retry = false })
      support.fault{ kind = "status", status = 503, times = 2, method = "GET" }
      local _, err = off.files.list()
      assert.same(503, err.status)
      assert.same(1, err.attempts)
      local _, err2 = client.files.list{ retry = false }
      assert.same(503, err2.status)
      assert.same(1, err2.attempts)
      -- a per-call table is merged over the client's
      support.fault{ kind = "status", status = 500, method = "GET" }
      local _, err3 = client.files.list{ retry = { status_codes = { 503 } } }
      assert.same(500, err3.status)
      off:close()
    end)

    describe("uploads, which must never be duplicated unasked", function()
      it("are not retried after a 500, 502 or 504", function()
        for _, status in ipairs({ 500, 502, 504 }) do
          support.reset()
          support.fault{ kind = "status", status = status, method = "POST" }
          local f, err = upload(client)
          assert.is_nil(f)
          assert.same(status, err.status)
          assert.same(1, err.attempts)
        end
      end)

      it("are retried after a 429 or a 503, re-sending the same bytes", function()
        local content = ("0123456789"):rep(10000)
        for _, status in ipairs({ 429, 503 }) do
          support.reset()
          support.fault{ kind = "status", status = status, method = "POST" }
          local f, err, response = upload(client, content)
          assert.is_nil(err)
          assert.same(2, response.attempts)
          assert.is_true(client.files.download(f.id) == content)
        end
      end)

      it("are retried after any listed status with retry_uploads = true", function()
        support.fault{ kind = "status", status = 500, method = "POST" }
        local f, err, response = upload(client, "again", { retry = { retry_uploads = true } })
        assert.is_nil(err)
        assert.same(2, response.attempts)
        assert.same("again", client.files.download(f.id))
      end)

      it("are retried when the connection failed before the body was sent", function()
        local dead = support.client({ server_url = "http://127.0.0.1:1", retry = { initial_interval = 20, jitter = 0,
          exponent = 1, max_elapsed_time = 200 } })
        local f, err = upload(dead)
        assert.is_nil(f)
        assert.same("network", err.kind)
        assert.is_true(err.attempts >= 3, "attempts " .. err.attempts)
        dead:close()
      end)

      it("are not re-sent, even by libcurl, when the connection was reset mid-body", function()
        local before = assert(client.files.list{ page_size = 1 }).total  -- leaves a reusable connection
        support.fault{ kind = "reset_upload", method = "POST", after = 65536 }
        local f, err = upload(client, ("x"):rep(8 * 1024 * 1024))
        assert.is_nil(f)
        assert.same("network", err.kind)
        assert.same(1, err.attempts)
        local posts = 0
        for _, r in ipairs(support.requests()) do
          if r.method == "POST" then posts = posts + 1 end
        end
        assert.same(1, posts)
        assert.same(before, assert(client.files.list{ page_size = 1 }).total)
      end)
    end)
  end)

  describe("faults", function()
    it("connection closed before any response: GET recovers", function()
      -- on a reused connection libcurl itself re-sends a GET that got no answer
      assert(client.files.list{ page_size = 1 })
      support.reset()
      support.fault{ kind = "close", method = "GET" }
      local _, err = client.files.list()
      assert.is_nil(err)
      assert.same(2, #support.requests())
      -- on a new connection the retry policy does
      for _, retry in ipairs({ fast, false }) do
        support.reset()
        support.fault{ kind = "close", method = "GET" }
        local fresh = support.client({ retry = retry })
        local page, err2, response = fresh.files.list()
        if retry then
          assert.is_nil(err2)
          assert.same("list", page.object)
          assert.same(2, response.attempts)
        else
          assert.same("network", err2.kind)
          assert.same(1, err2.attempts)
        end
        fresh:close()
      end
    end)

    it("truncated body (Content-Length larger than what arrives): network, and GET recovers", function()
      support.fault{ kind = "truncate", method = "GET", path = "/v1/files?" }
      local _, err = client.files.list{ retry = false }
      assert.same("network", err.kind)
      assert.same(200, err.status)
      support.fault{ kind = "truncate", method = "GET", path = "/v1/files?" }
      local page, err2, response = client.files.list()
      assert.is_nil(err2)
      assert.same("list", page.object)
      assert.same(2, response.attempts)
    end)

    it("connection cut mid-download: no output file, then a clean retry", function()
      local content = ("d"):rep(1024 * 1024)
      local f = assert(upload(client, content))
      local out_dir = support.tmpdir()
      support.fault{ kind = "truncate", method = "GET", path = "/v1/files/" .. f.id .. "/content" }
      local ok, err = client.files.download(f.id, { output = out_dir .. "/out.bin", retry = false })
      assert.is_nil(ok)
      assert.same("network", err.kind)
      assert.same({}, support.ls(out_dir))
      support.fault{ kind = "truncate", method = "GET", path = "/v1/files/" .. f.id .. "/content" }
      assert.is_true(client.files.download(f.id, { output = out_dir .. "/out.bin" }))
      assert.is_true(support.read(out_dir .. "/out.bin") == content)
      assert.same({ "out.bin" }, support.ls(out_dir))
    end)

    it("invalid JSON with status 200: decode", function()
      support.fault{ kind = "invalid_json", method = "GET" }
      local page, err = client.files.list()
      assert.is_nil(page)
      assert.same("decode", err.kind)
      assert.same(200, err.status)
      assert.same('{"id": "x", not json', err.body)
    end)

    it("an HTML error page: http with a short description, retried", function()
      support.fault{ kind = "html", status = 502, method = "GET" }
      local _, err = client.files.list{ retry = false }
      assert.same("http", err.kind)
      assert.same(502, err.status)
      assert.same("HTTP 502 (text/html)", err.message)
      assert.matches("Bad Gateway", err.body)
      support.fault{ kind = "html", status = 502, method = "GET" }
      local _, err2, response = client.files.list()
      assert.is_nil(err2)
      assert.same(2, response.attempts)
    end)

    it("a download whose Content-Type is not octet-stream: decode, no output file", function()
      local f = assert(upload(client, "typed"))
      support.fault{ kind = "content_type", content_type = "application/jsonl", method = "GET" }
      local out = dir .. "/typed.out"
      local ok, err = client.files.download(f.id, { output = out })
      assert.is_nil(ok)
      assert.same("decode", err.kind)
      assert.same("unexpected Content-Type 'application/jsonl' (expected application/octet-stream)", err.message)
      assert.is_false(support.exists(out))
      support.fault{ kind = "content_type", content_type = "application/octet-stream; charset=binary", method = "GET" }
      assert.same("typed", client.files.download(f.id))  -- parameters are fine
    end)

    it("a redirect to another host: followed, without the Authorization header", function()
      local port = support.url:match(":(%d+)$")
      support.fault{ kind = "redirect", method = "GET", location = "http://localhost:" .. port .. "/_local/echo/moved" }
      local got = assert(client.files.retrieve("x"))
      assert.same("/_local/echo/moved", got.uri)
      assert.is_false(support.has(got.header:lower(), "authorization"))
      -- the same host keeps it
      support.fault{ kind = "redirect", method = "GET", location = support.url .. "/_local/echo/same" }
      local same = assert(client.files.retrieve("x"))
      assert.is_true(support.has(same.header, "Authorization: Bearer "))
    end)

    it("a redirect to a file:// URL: refused, network", function()
      support.fault{ kind = "redirect", method = "GET", location = "file:///etc/passwd" }
      local f, err = client.files.retrieve("x", { retry = false })
      assert.is_nil(f)
      assert.same("network", err.kind)
      assert.matches("file", err.message)
    end)

    -- libcurl follows ftp:// redirects by default: only the core's own protocol list refuses it
    it("a redirect to an ftp:// URL: refused before any connection, unsupported_protocol", function()
      support.fault{ kind = "redirect", method = "GET", location = "ftp://127.0.0.1:1/x" }
      local f, err = client.files.retrieve("x", { retry = false })
      assert.is_nil(f)
      assert.same("unsupported_protocol", err.reason)
      assert.matches("ftp", err.message)
    end)
  end)

  describe("timeouts", function()
    it("#timing connect_timeout_ms: a server that never accepts", function()
      local uv = require("luv")
      local listener = uv.new_tcp()
      assert(listener:bind("127.0.0.1", 0))
      assert(listener:listen(0, function() end))  -- the loop never runs: nothing is accepted
      local url = "http://127.0.0.1:" .. listener:getsockname().port
      -- fill the accept queue, so the next connection's SYN is dropped
      local filler = support.client({ server_url = url, timeout_ms = 3000, retry = false, sleep = function() end })
      local multi = core.multi()
      local held = {}
      for i = 1, 3 do held[i] = multi:start{ url = url .. "/", timeout_ms = 3000 } end
      multi:wait(0.2)
      local c = support.client({ server_url = url, connect_timeout_ms = 300, retry = false })
      local elapsed, page, err = timed(function() return c.files.list() end)
      assert.is_nil(page)
      assert.same("timeout", err.kind)
      assert.is_true(elapsed >= 0.29 and elapsed < 0.375, "took " .. elapsed)
      for _, t in ipairs(held) do t:close() end
      multi:close()
      c:close()
      filler:close()
      listener:close()
      uv.run("nowait")
    end)

    it("#timing a stalled response is cut by the stall limit", function()
      support.fault{ kind = "stall", seconds = 5, method = "GET" }
      local c = support.client({ stall_timeout_ms = 1000, stall_bytes_per_s = 1024, retry = false })
      local elapsed, page, err = timed(function() return c.files.list() end)
      assert.is_nil(page)
      assert.same("timeout", err.kind)
      assert.is_true(elapsed >= 0.95 and elapsed < 1.25, "took " .. elapsed)
      c:close()
    end)

    it("a stalled GET is retried", function()
      support.fault{ kind = "stall", seconds = 5, method = "GET" }
      local c = support.client({ stall_timeout_ms = 1000, retry = fast })
      local page, err, response = c.files.list()
      assert.is_nil(err)
      assert.same("list", page.object)
      assert.same(2, response.attempts)
      c:close()
    end)

    it("a transfer that keeps moving is not cut, however slow", function()
      local content = ("t"):rep(24 * 1024)
      local f = assert(upload(client, content))
      support.fault{ kind = "trickle", rate = 12 * 1024, method = "GET", path = "/v1/files/" .. f.id .. "/content" }
      local c = support.client({ stall_timeout_ms = 1000, stall_bytes_per_s = 1024, retry = false })
      local elapsed, body, err = timed(function() return c.files.download(f.id) end)
      assert.is_nil(err)
      assert.is_true(body == content)
      assert.is_true(elapsed >= 1.5, "took " .. elapsed)  -- slower than the stall window
      c:close()
    end)

    it("#timing timeout_ms bounds a call", function()
      support.fault{ kind = "stall", seconds = 5, method = "GET" }
      local elapsed, page, err = timed(function() return client.files.list{ timeout_ms = 500, retry = false } end)
      assert.is_nil(page)
      assert.same("timeout", err.kind)
      assert.is_true(elapsed >= 0.49 and elapsed < 0.625, "took " .. elapsed)
    end)

    it("#timing timeout_ms bounds the whole call, retries and their waits included", function()
      support.fault{ kind = "status", status = 429, retry_after = "1", times = 10, method = "GET" }
      local elapsed, page, err = timed(function() return client.files.list{ timeout_ms = 1500 } end)
      assert.is_nil(page)
      assert.same(429, err.status)
      assert.same(2, err.attempts)
      -- the second attempt comes at 1 s; a third would wait past 1.5 s: the call ends there
      assert.is_true(elapsed >= 0.95 and elapsed < 1.25, "took " .. elapsed)
    end)
  end)
end)
