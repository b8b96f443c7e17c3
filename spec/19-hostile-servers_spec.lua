-- Servers that misbehave: whatever a server sends, the memory a call holds stays bounded, and
-- the call ends with an error value, never a Lua error.
local mistralai = require("mistralai")
local support = require("support")

describe("a hostile server", function()
  local client
  setup(function() client = support.client({ retry = false }) end)
  teardown(function() client:close() end)
  before_each(function() support.reset() end)

  -- Runs fn with the peak RSS reset; returns fn's results and the growth of the peak, in MiB.
  local function peak_growth(fn)
    collectgarbage()
    collectgarbage()
    support.reset_peak_rss()
    local before = support.peak_rss_kib()
    local a, b = fn()
    return a, b, (support.peak_rss_kib() - before) / 1024
  end

  it("#big an endless JSON answer: kind limit at max_response_bytes (4 MiB), memory flat", function()
    support.fault{ kind = "big_body", method = "GET" }
    local page, err, grown = peak_growth(function() return client.files.list() end)
    assert.is_nil(page)
    assert.same("limit", err.kind)
    assert.same("too_large", err.reason)
    assert.same(4 * 1024 * 1024, #err.body)
    assert.matches("over the 4194304 bytes kept in memory", err.message)
    assert.is_true(grown < 32, ("peak RSS grew by %.1f MiB"):format(grown))
  end)

  it("#big a 300 MiB error body, and an endless one: kind limit, memory flat", function()
    for _, bytes in ipairs({ 300 * 1024 * 1024, false }) do
      support.fault{ kind = "big_body", status = 500, bytes = bytes or nil, method = "GET" }
      local f, err, grown = peak_growth(function() return client.files.retrieve("x") end)
      assert.is_nil(f)
      assert.same("limit", err.kind)
      assert.same(500, err.status)
      assert.is_true(#err.body <= 4 * 1024 * 1024)
      assert.is_true(grown < 32, ("peak RSS grew by %.1f MiB"):format(grown))
    end
  end)

  it("#big a download to a string stops at max_string_bytes (16 MiB), which a call can raise", function()
    local id = assert(client.files.upload{ file = { file_name = "s.bin", content = ("s"):rep(1024) } }).id
    support.fault{ kind = "big_body", content_type = "application/octet-stream", method = "GET" }
    local s, err, grown = peak_growth(function() return client.files.download(id) end)
    assert.is_nil(s)
    assert.same("limit", err.kind)
    assert.is_true(grown < 48, ("peak RSS grew by %.1f MiB"):format(grown))
    local body = assert(client.files.download(id, { max_string_bytes = 1024 }))
    assert.same(1024, #body)
    local small, serr = client.files.download(id, { max_string_bytes = 1023 })
    assert.is_nil(small)
    assert.same("limit", serr.kind)
  end)

  it("max_response_bytes is an option of the client and of each call", function()
    support.fault{ kind = "big_body", bytes = 100000, method = "GET" }
    local _, err = client.files.list{ max_response_bytes = 1000 }
    assert.same("limit", err.kind)
    assert.same(1000, #err.body)
    local small = support.client({ max_response_bytes = 10 })
    local _, err2 = small.files.list()
    assert.same("limit", err2.kind)
    small:close()
    assert.has_error(function() support.client({ max_response_bytes = 0 }) end,
      "bad argument #1 to 'new' (option 'max_response_bytes' must be a whole number from 1 to 2147483647, got 0)")
  end)

  it("a body of the wrong type never reaches a sink or a stream: kind decode, nothing handed over", function()
    local id = assert(client.files.upload{ file = { file_name = "t.bin", content = ("t"):rep(300000) } }).id
    support.fault{ kind = "content_type", content_type = "text/html; charset=utf-8", method = "GET" }
    local handed = 0
    local ok, err = client.files.download(id, { sink = function(chunk) handed = handed + #chunk end })
    assert.is_nil(ok)
    assert.same("decode", err.kind)
    assert.same(0, handed)
    support.fault{ kind = "content_type", content_type = "TEXT/HTML", method = "GET" }
    local s, serr = client.files.download(id, { stream = true })
    assert.is_nil(s)
    assert.same("decode", serr.kind)
    -- the expected type, whatever its case and parameters, goes through
    support.fault{ kind = "content_type", content_type = "Application/Octet-Stream; x=1", method = "GET" }
    assert(client.files.download(id, { sink = function(chunk) handed = handed + #chunk end }))
    assert.same(300000, handed)
  end)

  it("a 422 whose detail holds any JSON values: an error value with what can be shown", function()
    support.fault{ kind = "body", status = 422, method = "GET",
      body = '{"detail":[{"loc":[true,"query",{"a":1},3,null],"msg":"bad"},{"loc":"x","msg":7},null,{"msg":"worse"}]}' }
    local page, err = client.files.list()
    assert.is_nil(page)
    assert.same("http", err.kind)
    assert.same("query.3: bad; worse", err.message)
  end)

  it("decodes every error shape the API uses: message, detail string, detail list, error.message, none", function()
    local cases = {
      { 400, '{"message":"m1","code":3001,"type":"invalid_request"}', "m1", "3001", "invalid_request" },
      { 404, '{"detail":"d2"}', "d2" },
      { 422, '{"detail":[{"loc":["body","purpose"],"msg":"bad"},{"loc":["query","page"],"msg":"worse"}]}',
        "body.purpose: bad; query.page: worse" },
      { 500, '{"error":{"message":"m4"}}', "m4" },
      { 502, "<html>gateway</html>", "^HTTP 502" },
      { 503, "", "^HTTP 503" },
    }
    for _, case in ipairs(cases) do
      support.fault{ kind = "body", status = case[1], body = case[2], method = "GET" }
      local page, err = client.files.list{ retry = false }
      assert.is_nil(page)
      assert.same({ "http", case[1], case[2] }, { err.kind, err.status, err.body })
      if case[3]:find("^%^") then assert.matches(case[3], err.message) else assert.same(case[3], err.message) end
      assert.same({ case[4], case[5] }, { err.code, err.type })
    end
  end)

  it("each stops with an error when a server that ignores `page` sends the same page again", function()
    local page = '{"object":"list","data":[{"id":"a"},{"id":"b"}],"total":100}'
    support.fault{ kind = "body", status = 200, body = page, method = "GET", times = 5 }
    local seen = {}
    local ok, err = pcall(function() for f in client.files.each{ page_size = 2 } do seen[#seen + 1] = f.id end end)
    assert.is_false(ok)
    assert.same("decode", err.kind)
    assert.same("page 1 repeats page 0: the server ignores `page`", err.message)
    assert.same({ "a", "b" }, seen)
  end)

  it("answers of any shape give a result or an error value, never a Lua error", function()
    local bodies = { "null", "[]", "7", '"x"', '{"data":5}', '{"data":"abc"}', '{"data":[null,1,{}]}',
      '{"error":true}', '{"message":{"a":1}}', '{"detail":{}}', '\255\254', '{"bytes":1e400}' }
    for _, body in ipairs(bodies) do
      for _, status in ipairs({ 200, 400, 500 }) do
        support.fault{ kind = "body", status = status, body = body, method = "GET" }
        local ok, a, b = pcall(client.files.list)
        assert.is_true(ok, body .. " " .. tostring(a))
        assert.is_true(a ~= nil or mistralai.is_error(b), body)
        support.fault{ kind = "body", status = status, body = body, method = "GET" }
        local ok2, err = pcall(function() for _ in client.files.each{} do end end)
        assert.is_true(ok2 or mistralai.is_error(err), body .. " " .. tostring(err))
      end
    end
  end)
end)
