-- The examples run against the local server, as `make demo` runs the quickstart.
local support = require("support")

describe("examples", function()
  it("quickstart runs every operation and checks the bytes", function()
    local out = support.run_lua('arg = { [0] = "examples/quickstart.lua" } dofile("examples/quickstart.lua")',
      { env = { MISTRAL_SERVER_URL = support.url, MISTRAL_API_KEY = support.api_key }, plain = true })
    assert.is_true(support.has(out, "signed URL fetched without the key: same bytes"), out)
    assert.is_true(support.has(out, ": same bytes\ndelete"), out)
    assert.matches("delete     [%x%-]+ deleted=true\n$", out)
  end)

  -- one script per operation, and the fine-tuning walk-through: each must run to its end
  local expected = {
    ["upload.lua"] = "from memory: [%x%-]+ batch%.jsonl, HTTP 200",
    ["list.lua"] = "each #5: listing%-1%.jsonl",
    ["retrieve.lua"] = "nil\thttp\t404\t",
    ["delete.lua"] = "again: nil, mistralai: http 404",
    ["download.lua"] = "to a sink: %d+ bytes\nas a stream: same: true",
    ["signed_url.lua"] = "fetched without the key: shared",
    ["fine_tuning_upload.lua"] = "use this id as the training file of a fine%-tuning job: [%x%-]+",
    ["event_loop.lua"] = "uploaded and deleted loop%-%d%.jsonl\nuploaded and deleted loop%-%d%.jsonl\nuploaded and deleted loop%-%d%.jsonl",
  }
  for name, pattern in pairs(expected) do
    it(name, function()
      local out = support.run_lua(('arg = { [0] = "examples/%s" } dofile("examples/%s") io.write(string.char(10), "DONE")'):format(name, name),
        { env = { MISTRAL_SERVER_URL = support.url, MISTRAL_API_KEY = support.api_key }, plain = true })
      assert.matches(pattern, out)
      assert.matches("\nDONE$", out)
    end)
  end
end)
