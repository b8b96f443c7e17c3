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
end)
