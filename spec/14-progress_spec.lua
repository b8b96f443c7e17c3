-- The progress option: (done, total) for the file's bytes, at a bounded rate, once at the end.
local core = require("mistralai.core")
local support = require("support")

describe("progress", function()
  local client
  setup(function() client = support.client() end)
  teardown(function() client:close() end)
  before_each(function() support.reset() end)

  local function recorder()
    local calls = {}
    return calls, function(done, total) calls[#calls + 1] = { done, total, core.now() } end
  end

  it("upload: the file's bytes sent and its size, rising, ending with (size, size)", function()
    local size = 24 * 1024 * 1024
    local path = support.random_file(support.tmpdir() .. "/p.bin", size)
    support.fault{ kind = "stall", seconds = 0.3, method = "POST" }  -- keeps the transfer open a while
    local calls, progress = recorder()
    assert(client.files.upload{ file = path, progress = progress })
    assert.is_true(#calls >= 2)
    local last = 0
    for _, c in ipairs(calls) do
      assert.same(size, c[2])
      assert.is_true(c[1] >= last and c[1] <= size)
      last = c[1]
    end
    assert.same({ size, size }, { calls[#calls][1], calls[#calls][2] })
    assert.is_false(calls[#calls - 1][1] == size and calls[#calls - 1][2] == size, "the end is reported once")
  end)

  it("download: bytes received and the Content-Length, at most ten times a second", function()
    local content = ("p"):rep(256 * 1024)
    local f = assert(client.files.upload{ file = { file_name = "slow.bin", content = content } })
    support.fault{ kind = "trickle", rate = 128 * 1024, method = "GET", path = "/v1/files/" .. f.id .. "/content" }
    local calls, progress = recorder()
    local t0 = core.now()
    assert.is_true(client.files.download(f.id, { sink = function() end, progress = progress }))
    local elapsed = core.now() - t0
    assert.is_true(#calls >= 5, #calls .. " calls")
    assert.is_true(#calls <= elapsed * 10 + 2, ("%d calls in %.1f s"):format(#calls, elapsed))
    for i = 2, #calls - 1 do  -- the last is the final one, whenever it comes
      -- the core spaces its calls 100 ms apart; the times here are taken in Lua, a little after
      -- the core's, so a collector pause in one call can shorten the gap to the next by a few ms
      local gap = calls[i][3] - calls[i - 1][3]
      assert.is_true(gap >= 0.09, ("calls %.1f ms apart"):format(gap * 1000))
      assert.is_true(calls[i][1] >= calls[i - 1][1])
    end
    for _, c in ipairs(calls) do
      if c[2] ~= nil then assert.same(#content, c[2]) end
      if math.type then assert.same("integer", math.type(c[1])) end  -- 255, not 255.0, where Lua has integers
    end
    assert.same({ #content, #content }, { calls[#calls][1], calls[#calls][2] })
  end)

  it("must be a function", function()
    assert.has_error(function() client.files.download("x", { progress = 1 }) end,
      "bad argument #2 to 'download' (option 'progress' must be a function, got number)")
  end)
end)
