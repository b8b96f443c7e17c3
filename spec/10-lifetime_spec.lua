-- Lifetimes: collected clients, callbacks that raise, iterators left early, and a soak with
-- resident memory and open descriptors flat.
local support = require("support")

describe("lifetime", function()
  it("a client collected mid-iteration: the iteration goes on", function()
    local prefix = "collected-" .. os.time() .. "-"
    local c = support.client()
    for i = 1, 5 do assert(c.files.upload{ file = { file_name = prefix .. i, content = "c" } }) end
    local next_file = c.files.each{ search = prefix, page_size = 2 }
    local weak = setmetatable({ c }, { __mode = "v" })
    assert.is_table(next_file())
    c = nil -- luacheck: ignore 311
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak[1])
    local n = 1
    for _ in next_file do n = n + 1 end
    assert.same(5, n)
  end)

  it("a raising sink or progress callback frees every handle and temporary file", function()
    -- twice: the previous test's iterator holds a client whose finalizer closes its connection
    collectgarbage()
    collectgarbage()
    local fds = support.fd_count()
    local open = support.open_resources()
    local c = support.client()
    local f = assert(c.files.upload{ file = { file_name = "big.bin", content = ("b"):rep(2 * 1024 * 1024) } })
    local dir = support.tmpdir()
    for i = 1, 20 do
      local ok, err = pcall(c.files.download, f.id, { output = dir .. "/o" .. i, progress = function() error("stop " .. i) end })
      assert.is_false(ok)
      assert.matches("stop " .. i .. "$", err)
      local ok2, err2 = pcall(c.files.download, f.id, { sink = function() error({ n = i }) end })
      assert.is_false(ok2)
      assert.same({ n = i }, err2)
    end
    assert.same({}, support.ls(dir))
    c:close()
    collectgarbage()
    assert.same(open, support.open_resources())  -- no connection, no output file left open
    assert.same(fds, support.fd_count())         -- and nothing else either
  end)

  it("a raising upload progress callback aborts the upload", function()
    local c = support.client()
    local ok, err = pcall(c.files.upload, { file = { file_name = "p.bin", content = ("p"):rep(4 * 1024 * 1024) },
      progress = function() error("no more") end })
    assert.is_false(ok)
    assert.matches("no more$", err)
    c:close()
  end)

  if _VERSION == "Lua 5.4" then
    it("break closes the iterator through its to-be-closed value (Lua 5.4)", function()
      local c = support.client()
      local next_file, state, control, closer = c.files.each{ page_size = 1 }
      assert.is_nil(state)
      assert.is_nil(control)
      local run = load([[
        local next_file, closer = ...
        for f in next_file, nil, nil, closer do break end
      ]])
      assert(c.files.upload{ file = { file_name = "b", content = "b" } })
      run(next_file, closer)
      assert.is_nil(next_file())  -- closed: it fetches nothing more
      c:close()
    end)
  else
    it("break leaves the iterator usable (Lua 5.1-5.3 have no to-be-closed values)", function()
      local c = support.client()
      assert(c.files.upload{ file = { file_name = "b", content = "b" } })
      assert(c.files.upload{ file = { file_name = "b", content = "b" } })
      local next_file = c.files.each{ page_size = 1 }
      for _ in next_file do break end -- luacheck: ignore 512
      assert.is_table(next_file())
      c:close()
    end)
  end

  it("closing a client twice, and closing one with transfers never awaited", function()
    local c = support.client()
    c:close()
    c:close()
    assert.matches("closed", tostring(c))
  end)

  it("#soak 10,000 calls and 1,000 uploads and downloads: RSS and descriptors flat", function()
    local out = support.run_lua('dofile("spec/soak.lua")',
      { env = { MISTRAL_SERVER_URL = support.url, MISTRAL_API_KEY = support.api_key } })
    local points = {}
    for phase, n, rss, files, heap, sockets in out:gmatch("(%a+)\t(%d+)\t(%d+)\t(%d+)\t(%d+)\t(%d+)\n") do
      points[phase .. n] = { rss = tonumber(rss), files = tonumber(files), heap = tonumber(heap), sockets = tonumber(sockets) }
    end
    assert.is_table(points.calls10000, out)
    local function flat(from, to, what)
      local a, b = points[from], points[to]
      -- within one: a leak grows with the calls (9,000 of them here); one more open file than
      -- at warm-up was seen once in CI and never reproduced (noted in the handover)
      assert.is_true(b.files <= a.files + 1, ("%s: %d open files, from %d"):format(what, b.files, a.files))
      assert.is_true(b.sockets <= a.sockets + 1, ("%s: %d sockets open, from %d"):format(what, b.sockets, a.sockets))
      assert.is_true(b.rss - a.rss < 512, ("%s: RSS grew %d KiB"):format(what, b.rss - a.rss))
      assert.is_true(b.heap - a.heap < 64, ("%s: the Lua heap grew %d KiB"):format(what, b.heap - a.heap))
    end
    flat("calls1000", "calls10000", "9,000 calls after warm-up")
    flat("uploads100", "uploads1000", "900 uploads and downloads after warm-up")
    assert.is_true(points.closed0.sockets < points.calls1000.sockets, "closing frees the connections")
  end)
end)
