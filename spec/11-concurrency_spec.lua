-- Non-blocking transfers: gather runs many operations at once in one Lua state, and the
-- sleep option hands control back to the host between steps.
local core = require("mistralai.core")
local support = require("support")

describe("concurrency", function()
  local client
  setup(function() client = support.client() end)
  teardown(function() client:close() end)
  before_each(function() support.reset() end)

  it("uploads 32 files at once and every byte arrives", function()
    local contents, fns = {}, {}
    for i = 1, 32 do
      contents[i] = ("%02d:"):format(i) .. ("x"):rep(i * 4099)
      fns[i] = function()
        return client.files.upload{ file = { file_name = "c" .. i .. ".bin", content = contents[i] } }
      end
    end
    local results = client:gather(fns, { concurrency = 32 })
    assert.same(32, #results)
    local downloads = {}
    for i, r in ipairs(results) do
      assert.same(3, r.n)   -- file, nil, response: table.pack keeps them all
      assert.is_nil(r[2])
      assert.same(200, r[3].status)
      assert.same(#contents[i], r[1].bytes)
      downloads[i] = function() return client.files.download(r[1].id) end
    end
    for i, r in ipairs(client:gather(downloads)) do
      assert.is_true(r[1] == contents[i], "file " .. i)
    end
  end)

  it("runs up to `concurrency` operations at once, and no more", function()
    local active, most = 0, 0
    local fns = {}
    for i = 1, 12 do
      fns[i] = function()
        active = active + 1
        most = math.max(most, active)
        local page, err = client.files.list{ page_size = 1 }
        active = active - 1
        return page ~= nil, err
      end
    end
    support.fault{ kind = "stall", seconds = 0.05, times = 12, method = "GET" }
    local results = client:gather(fns, { concurrency = 4 })
    assert.same(4, most)
    for _, r in ipairs(results) do assert.is_true(r[1]) end
  end)

  it("packs what each function returns; one that raises does not stop the others", function()
    local results = client:gather({
      function() return 1, nil, 3 end,
      function() error({ code = "boom" }) end,
      function() return client.files.retrieve("missing") end,
      function() error("plain") end,
    })
    assert.same({ 1, nil, 3, n = 3 }, results[1])
    assert.same({ nil, { code = "boom" }, n = 2 }, results[2])
    assert.is_nil(results[3][1])
    assert.same(404, results[3][2].status)
    assert.is_nil(results[4][1])
    assert.matches("plain$", results[4][2])
  end)

  it("a task waiting to retry does not hold up the others", function()
    support.fault{ kind = "status", status = 503, retry_after = "1", method = "GET", path = "/v1/files?include_total=true&page=0&page_size=7" }
    local finished = {}
    local t0 = core.now()
    local fns = {
      function() local p = client.files.list{ page_size = 7 } finished[1] = core.now() - t0 return p end,
    }
    for i = 2, 6 do
      fns[i] = function() local p = client.files.list{ page_size = 1 } finished[i] = core.now() - t0 return p end
    end
    local results = client:gather(fns)
    for i = 1, 6 do assert.is_table(results[i][1]) end
    assert.is_true(finished[1] >= 0.95, "the retried one waited its Retry-After")
    for i = 2, 6 do assert.is_true(finished[i] < 0.5, "task " .. i .. " finished at " .. finished[i]) end
  end)

  it("checks its arguments", function()
    assert.has_error(function() client:gather({ 1 }) end, "bad argument #1 to 'gather' (item 1 must be a function, got number)")
    assert.has_error(function() client:gather({}, { concurrency = 0 }) end,
      "bad argument #2 to 'gather' (option 'concurrency' must be a whole number >= 1, got 0)")
    assert.same({}, client:gather({}))
  end)

  it("with sleep, an operation hands control back between steps", function()
    local yields = 0
    local c = support.client({ sleep = function() coroutine.yield() end })
    local content = ("s"):rep(8 * 1024 * 1024)
    local co = coroutine.create(function()
      local f = assert(c.files.upload{ file = { file_name = "s.bin", content = content } })
      return c.files.download(f.id)
    end)
    local ok, body
    while coroutine.status(co) ~= "dead" do
      ok, body = coroutine.resume(co)
      assert.is_true(ok, tostring(body))
      yields = yields + 1
    end
    assert.is_true(body == content)
    assert.is_true(yields > 10, "yielded " .. yields .. " times")
    c:close()
  end)

  it("a loop that knows only time (a frame loop) runs an operation by stepping the driver", function()
    local steps = 0
    local page, err
    local driver = client:driver()
    assert.is_true(driver == client:driver(), "one driver per client")
    driver.spawn(function() return client.files.list{ page_size = 10 } end,
      function(ok, result)
        if ok then page, err = result[1], result[2] else page, err = nil, result end
      end)
    assert.is_nil(page)  -- nothing runs before the first step
    repeat
      local left = driver.step()
      steps = steps + 1
      if left > 0 then core.sleep(0.001) end
    until left == 0
    assert.is_nil(err)
    assert.same("list", page.object)
    assert.is_true(steps > 1, "stepped " .. steps .. " times")
  end)

  it("driver.cancel frees a task's transfer and ends it with the given error", function()
    local driver = client:driver()
    local outcome
    support.fault{ kind = "stall", seconds = 2 }
    local task = driver.spawn(function() return client.files.list() end,
      function(ok, result) outcome = { ok, result } end)
    driver.step()
    local t0 = core.now()
    driver.cancel(task, "stop")
    assert.same({ false, "stop" }, outcome)
    assert.same(0, (driver.step()))
    assert.is_true(core.now() - t0 < 0.5)
  end)

  describe("cancel handles", function()
    local mistralai = require("mistralai")

    local function stored()
      return assert(client.files.list{ page_size = 100 }).total
    end

    it("a task cancels another one's upload in gather: it ends at once, nothing is stored", function()
      local before = stored()
      support.fault{ kind = "stall", seconds = 1, method = "POST" }
      local c = mistralai.cancel_handle()
      local content = ("u"):rep(8 * 1024 * 1024)
      local t0 = core.now()
      local results = client:gather({
        function() return client.files.upload{ file = { file_name = "u.bin", content = content }, cancel = c } end,
        function()
          assert(client.files.list{ page_size = 1 })  -- runs while the upload waits on the server
          c:cancel()
          return true
        end,
      })
      local elapsed = core.now() - t0
      assert.is_nil(results[1][1])
      assert.same("aborted", results[1][2].kind)
      assert.same("cancelled", results[1][2].message)
      assert.is_true(elapsed < 0.5, "ended after " .. elapsed .. " s")
      assert.is_true(c.cancelled)
      core.sleep(1.2)  -- past the stall: a transfer still running would have been stored by now
      assert.same(before, stored())
    end)

    it("a cancelled handle stops an operation before it sends anything", function()
      local c = mistralai.cancel_handle()
      c.cancel()
      c:cancel()  -- idempotent, either way of calling
      local before = #support.requests()
      local f, err = client.files.list{ cancel = c }
      assert.is_nil(f)
      assert.same("aborted", err.kind)
      assert.same(0, err.attempts)
      assert.same(before, #support.requests())
    end)

    it("a progress callback may cancel its own transfer, also in a blocking call", function()
      local c = mistralai.cancel_handle()
      local dir = support.tmpdir()
      local id = assert(client.files.upload{ file = { file_name = "d.bin", content = ("d"):rep(4 * 1024 * 1024) } }).id
      support.fault{ kind = "trickle", rate = 256 * 1024, method = "GET" }
      local t0 = core.now()
      local ok, err = client.files.download(id, { output = dir .. "/d.bin", cancel = c,
        progress = function(received) if received > 0 then c:cancel() end end })
      assert.is_nil(ok)
      assert.same("aborted", err.kind)
      assert.is_true(core.now() - t0 < 1, "a trickle of 4 MiB would take 16 s")
      assert.same({}, support.ls(dir))
    end)

    it("ends a task's wait between attempts", function()
      support.fault{ kind = "status", status = 503, retry_after = "5", method = "GET" }
      local c = mistralai.cancel_handle()
      local t0 = core.now()
      local results = client:gather({
        function() return client.files.list{ cancel = c } end,
        function()
          local function listed()
            for _, r in ipairs(support.requests()) do
              if r.uri:find("^/v1/files%?") then return true end
            end
          end
          while not listed() do client.files.retrieve("none") end
          c:cancel()
        end,
      })
      assert.same("aborted", results[1][2].kind)
      assert.same(1, results[1][2].attempts)
      assert.is_true(core.now() - t0 < 1, "waited " .. (core.now() - t0) .. " s of a 5 s Retry-After")
    end)

    it("ends a sleep-mode wait between attempts within 50 ms", function()
      support.fault{ kind = "status", status = 503, retry_after = "5", method = "GET" }
      local c = mistralai.cancel_handle()
      local sleeper = support.client({ sleep = function() coroutine.yield() end })
      local co = coroutine.create(function() return sleeper.files.list{ cancel = c } end)
      local function asked()
        for _, r in ipairs(support.requests()) do
          if r.uri:find("^/v1/files%?") then return true end
        end
      end
      repeat assert(coroutine.resume(co)) until asked()
      core.sleep(0.05)  -- the answer arrives, the wait before the next attempt begins
      assert(coroutine.resume(co))
      local t0 = core.now()
      c:cancel()
      local ok, page, err
      repeat ok, page, err = coroutine.resume(co) until coroutine.status(co) == "dead"
      assert.is_true(ok)
      assert.is_nil(page)
      assert.same("aborted", err.kind)
      assert.same(1, err.attempts)
      assert.is_true(core.now() - t0 < 0.2, "ended " .. (core.now() - t0) .. " s after cancel")
      sleeper:close()
    end)

    it("an event loop's operation ends at the next step after cancel", function()
      local driver = client:driver()
      local c = mistralai.cancel_handle()
      local outcome
      support.fault{ kind = "stall", seconds = 2 }
      driver.spawn(function() return client.files.list{ cancel = c } end,
        function(ok, result) outcome = { ok, result } end)
      driver.step()
      c:cancel()
      assert.same(0, (driver.step()))
      assert.is_true(outcome[1])
      assert.same("aborted", outcome[2][2].kind)
    end)

    it("refuses anything else as option cancel", function()
      assert.has_error(function() client.files.list{ cancel = {} } end,
        "bad argument #1 to 'list' (option 'cancel' must be a handle from mistralai.cancel_handle())")
    end)
  end)

  describe("an abandoned operation", function()
    -- the sleep option lets an operation yield the caller's coroutine; a host may drop it
    local function abandoned(fn, keep_garbage)
      local co = coroutine.create(fn)
      assert(coroutine.resume(co))
      assert.same("suspended", coroutine.status(co))
      co = nil  -- luacheck: ignore 311
      if not keep_garbage then
        collectgarbage()
        collectgarbage()
      end
    end

    local function finish(fn)
      local co = coroutine.wrap(fn)
      local r = co()
      while r == nil do r = co() end
      return r
    end

    it("has its upload closed when its coroutine is collected: nothing finishes behind it", function()
      local before = assert(client.files.list{ page_size = 1 }).total
      local c = support.client({ sleep = function() coroutine.yield() end })
      local content = ("a"):rep(16 * 1024 * 1024)
      abandoned(function() c.files.upload{ file = { file_name = "gone.bin", content = content } } end)
      -- other calls drive the same multi handle: an upload still in it would complete now
      local t0 = core.now()
      while core.now() - t0 < 0.5 do
        assert.same(before, finish(function() return c.files.list{ page_size = 100 } end).total)
      end
      c:close()
    end)

    it("has its download closed when its coroutine is collected: no .part file stays", function()
      local id = assert(client.files.upload{ file = { file_name = "b.bin", content = ("b"):rep(4 * 1024 * 1024) } }).id
      support.fault{ kind = "trickle", rate = 512 * 1024, method = "GET" }
      local dir = support.tmpdir()
      local c = support.client({ sleep = function() coroutine.yield() end })
      abandoned(function() c.files.download(id, { output = dir .. "/b.bin" }) end)
      assert.same({}, support.ls(dir))
      c:close()
    end)

    it("collected by a cycle that a callback's Lua code runs, is taken out once libcurl returns", function()
      local id = assert(client.files.upload{ file = { file_name = "g.bin", content = ("g"):rep(1024 * 1024) } }).id
      local before = assert(client.files.list{ page_size = 1 }).total
      local c = support.client({ sleep = function() coroutine.yield() end })
      abandoned(function() c.files.upload{ file = { file_name = "gone.bin", content = ("a"):rep(16 * 1024 * 1024) } } end, true)
      local chunks = 0
      local ok = finish(function()
        return c.files.download(id, { sink = function() chunks = chunks + 1 collectgarbage() end }) or false
      end)
      assert.is_true(ok)
      assert.is_true(chunks > 1)
      for _ = 1, 20 do finish(function() return c.files.list{ page_size = 1 } end) end
      assert.same(before, assert(client.files.list{ page_size = 1 }).total)
      c:close()
    end)
  end)
  -- Closing a client ends every operation in flight with kind aborted, wherever close is
  -- called from; results are kept, connections and temporary files freed at once.
  describe("closing the client", function()
    local id
    before_each(function() support.reset() end)
    teardown(function() support.reset() end)  -- no fault left for the next spec file
    setup(function()
      id = assert(client.files.upload{ file = { file_name = "c.bin", content = ("c"):rep(4 * 1024 * 1024) } }).id
    end)

    it("from a task of gather: the others end aborted, gather returns every result", function()
      support.fault{ kind = "trickle", rate = 1024 * 1024, method = "GET", path = "/v1/files/" .. id .. "/content" }
      local dir = support.tmpdir()
      local c = support.client()
      local results = c:gather({
        function() return c.files.download(id, { output = dir .. "/c.bin" }) end,
        function()
          assert(c.files.list{ page_size = 1 })
          c:close()
          return "closed"
        end,
        function() return "never started" end,
      }, { concurrency = 2 })
      assert.same(3, #results)
      assert.is_nil(results[1][1])
      assert.same("aborted", results[1][2].kind)
      assert.same("the client was closed", results[1][2].message)
      assert.same("closed", results[2][1])
      assert.is_nil(results[3][1])
      assert.same("the client was closed", results[3][2].message)
      assert.same({}, support.ls(dir))
    end)

    it("from a sink: the download ends aborted, its connection closed at once", function()
      support.fault{ kind = "trickle", rate = 1024 * 1024, method = "GET", path = "/v1/files/" .. id .. "/content" }
      collectgarbage()
      local before = support.open_resources()
      local c = support.client()
      local calls, after_close = 0, 0
      local ok, err = c.files.download(id, { sink = function()
        calls = calls + 1
        if c.closed_once then after_close = after_close + 1 end
        if calls == 2 then c:close() c.closed_once = true end
      end })
      assert.is_nil(ok)
      assert.same("aborted", err.kind)
      assert.same("the client was closed", err.message)
      assert.same(0, after_close)  -- no call of the sink after the close
      assert.same(before, support.open_resources())
      assert.has_error(function() c.files.list() end, "mistralai: the client is closed")
    end)

    it("during a wait between attempts in gather: the wait ends at once", function()
      local first = "/v1/files?include_total=true&page=0&page_size=100"
      support.fault{ kind = "status", status = 503, retry_after = "30", method = "GET", path = first }
      local c = support.client()
      local t0 = core.now()
      local function answered()  -- has the server answered the first list (its 503)?
        for _, r in ipairs(support.requests()) do if r.uri == first then return true end end
      end
      local results = c:gather({
        function() return c.files.list() end,
        function()  -- calls of its own move the first one on, until it waits to retry
          repeat assert(c.files.list{ page_size = 1 }) until answered()
          c:close()
        end,
      })
      assert.is_true(core.now() - t0 < 1, ("gather took %.1f s"):format(core.now() - t0))
      assert.same("the client was closed", results[1][2].message)
    end)
  end)
end)
