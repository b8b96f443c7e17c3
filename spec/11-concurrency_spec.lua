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
end)
