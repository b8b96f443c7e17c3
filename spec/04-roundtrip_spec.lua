-- Byte-exact round trips, and a 300 MiB file streamed both ways in constant memory.
local support = require("support")

describe("round trips", function()
  local client, dir
  setup(function()
    client = support.client()
    dir = support.tmpdir()
  end)
  teardown(function()
    client:close()
    support.sh("rm -rf '" .. dir .. "'")
  end)

  for _, size in ipairs({ 0, 1, 1024 * 1024 }) do
    it(size .. " bytes, from a path and from memory, to a string and to a file", function()
      local src = support.random_file(dir .. "/src-" .. size .. ".bin", size)
      local content = support.read(src)
      local a = assert(client.files.upload{ file = src })
      local b = assert(client.files.upload{ file = { file_name = "mem.bin", content = content } })
      assert.same(size, a.bytes)
      assert.same(size, b.bytes)
      assert.is_true(client.files.download(a.id) == content)
      local out = dir .. "/out-" .. size .. ".bin"
      assert.is_true(client.files.download(b.id, { output = out }))
      assert.same(support.sha256_file(src), support.sha256_file(out))
    end)
  end

  it("#big 300 MiB streamed up from disk and down to disk: the peak RSS grows by under 8 MiB", function()
    local size = 300 * 1024 * 1024
    local src = support.random_file(dir .. "/big.bin", size)
    local out = dir .. "/big-out.bin"
    collectgarbage()
    collectgarbage()
    support.reset_peak_rss()
    local before = support.peak_rss_kib()
    local f = assert(client.files.upload{ file = src, purpose = "batch" })
    assert.is_true(client.files.download(f.id, { output = out }))
    local grown = (support.peak_rss_kib() - before) / 1024
    assert.same(size, f.bytes)
    assert.same(support.sha256_file(src), support.sha256_file(out))
    assert.is_true(grown < 8, ("peak RSS grew by %.1f MiB"):format(grown))
    print(("\n  300 MiB round trip: peak RSS +%.1f MiB"):format(grown))
    assert(client.files.delete(f.id))
  end)
end)
