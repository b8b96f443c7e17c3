-- The core's JSON decoder (csrc/json.c), which reads every answer: what it makes of each JSON
-- value, the error it gives for what is not JSON, and, over thousands of random documents,
-- the same values as lua-cjson followed by the old pass that dropped nulls and made integers.
local core = require("mistralai.core")
local cjson = require("cjson.safe")
local json = require("mistralai.json")
local support = require("support")

local decode = core.json_decode
local has_integers = math.type ~= nil

-- "integer" or "float" on Lua 5.3+, "number" before.
local function kind(n) return has_integers and math.type(n) or type(n) end

describe("the core's JSON decoder", function()
  it("drops an object's null fields, leaves holes for an array's nulls", function()
    local v = assert(decode('{"a":1,"b":null,"c":[1,null,3],"d":{"e":null}}'))
    assert.same({ a = 1, c = { [1] = 1, [3] = 3 }, d = {} }, v)
    assert.is_nil(rawget(v, "b"))
    assert.is_nil(v.c[2])
    assert.same({}, assert(decode('{"a":1,"a":null}')), "the last of a repeated key wins, a null too")
  end)

  it("keeps nulls as the sentinel it is given, everywhere, and decode_raw gives cjson.null", function()
    local N = {}
    assert.same({ a = N, c = { 1, N, 3 } }, decode('{"a":null,"c":[1,null,3]}', N))
    assert.equal(N, decode("null", N))
    local raw = assert(json.decode_raw('{"signature":null}'))
    assert.equal(cjson.null, raw.signature)
  end)

  it("a null alone is nil without a reason; a non-string is refused by mistralai.json, not raised", function()
    local v, why = decode("null")
    assert.is_nil(v)
    assert.is_nil(why)
    assert.same({ nil, "not a string" }, { json.decode(nil) })
    assert.has_error(function() decode(nil) end)
  end)

  it("integral numbers are integers on Lua 5.3+ (1e3 and 2.0 too), the rest floats", function()
    local cases = {
      { "0", 0, "integer" }, { "-0", 0, "integer" }, { "42", 42, "integer" }, { "-17", -17, "integer" },
      { "1e3", 1000, "integer" }, { "2.0", 2, "integer" }, { "1764979200", 1764979200, "integer" },
      { "0.5", 0.5, "float" }, { "-1.25e-2", -0.0125, "float" }, { "1e400", math.huge, "float" },
    }
    if has_integers then
      cases[#cases + 1] = { "9223372036854775807", math.maxinteger, "integer" }
      cases[#cases + 1] = { "-9223372036854775808", math.mininteger, "integer" }
      cases[#cases + 1] = { "9223372036854775808", 2.0 ^ 63, "float" }
      cases[#cases + 1] = { "-9223372036854775809", -2.0 ^ 63, "float" }  -- beyond, not mininteger
      cases[#cases + 1] = { "123456789012345678901234", 1.2345678901234568e23, "float" }
    end
    for _, c in ipairs(cases) do
      local v = decode(c[1])
      assert.equal(c[2], v, c[1])
      assert.equal(has_integers and c[3] or "number", kind(v), c[1])
    end
    local long = "0." .. ("1"):rep(200)  -- longer than the decoder's stack buffer for strtod
    assert.is_true(math.abs(decode(long) - 1 / 9) < 1e-15)
  end)

  it("numbers read the same under a host's locale: a decimal comma (de_DE), a two-byte point (ps_AF)", function()
    local dir = support.tmpdir()
    for _, name in ipairs({ "de_DE", "ps_AF" }) do
      local out = support.sh(("localedef -i %s -f UTF-8 %s/%s.UTF-8 2>&1; echo status $?"):format(name, dir, name))
      assert.truthy(out:find("status 0", 1, true), out)
      out = support.run_lua(([[
        assert(os.setlocale("%s.UTF-8", "numeric"), "no locale")
        local decode = require("mistralai.core").json_decode
        local v = assert(decode('[1.5, -2.25e1, 0.001, 2.0, 1e3]'))
        io.write(tostring(v[1] == 1.5 and v[2] == -22.5 and v[3] == 0.001 and v[4] == 2 and v[5] == 1000))]]):format(name),
        { env = { LOCPATH = dir } })
      assert.equal("true", out, name)
    end
    support.sh("rm -rf '" .. dir .. "'")
  end)

  it("strings: every escape, surrogate pairs, lone surrogates as U+FFFD, raw UTF-8 and NUL kept", function()
    assert.equal('"\\/\b\f\n\r\t', decode([["\"\\\/\b\f\n\r\t"]]))
    assert.equal("é€😀", decode([["\u00e9\u20AC\ud83d\ude00"]]))
    assert.equal("\239\191\189x\239\191\189", decode([["\ud800x\udc00"]]))
    assert.equal("\239\191\189\239\191\189", decode([["\ud800\ud800"]]), "a high surrogate then another")
    assert.equal("a\0b", decode([["a\u0000b"]]))
    assert.equal("日本語 ok", decode('"日本語 ok"'))
    local big = ("x"):rep(100000)
    assert.equal(big, decode('"' .. big .. '"'))
    assert.equal(big .. "\n" .. big, decode('"' .. big .. "\\n" .. big .. '"'))
  end)

  it("nesting: 1,000 levels decode, 1,001 are refused", function()
    local deep = assert(decode(("["):rep(1000) .. ("]"):rep(1000)))
    for _ = 1, 999 do deep = deep[1] end
    assert.same({}, deep)
    assert.same({ nil, "nested too deep at byte 1001" }, { decode(("["):rep(1001) .. ("]"):rep(1001)) })
    assert.same({ nil, "nested too deep at byte 1001" }, { decode(("["):rep(1000) .. "{}" .. ("]"):rep(1000)) })
    assert.same({ nil, "nested too deep at byte 5001" }, { decode(('{"a":'):rep(1001) .. "1" .. ("}"):rep(1001)) })
  end)

  it("what is not JSON: nil and a message naming the byte, never a Lua error", function()
    local cases = {
      { "", "unexpected end at byte 1" },
      { "   ", "unexpected end at byte 4" },
      { "{", "unexpected end at byte 2" },
      { '{"a"', "unexpected end at byte 5" },
      { '{"a" 1}', "expected ':' at byte 6" },
      { '{"a":1,}', "expected a string key at byte 8" },
      { "{a:1}", "expected a string key at byte 2" },
      { '{"a":1 "b":2}', "expected ',' or '}' at byte 8" },
      { "[1 2]", "expected ',' or ']' at byte 4" },
      { "[1,]", "unexpected character ']' at byte 4" },
      { '"abc', "unterminated string at byte 1" },
      { '["a\\', "unterminated string at byte 2" },
      { '"a\\q"', "invalid escape in a string at byte 3" },
      { '"\\u12g4"', "invalid \\u escape at byte 2" },
      { '"\\u12"', "invalid \\u escape at byte 2" },
      { '"a\tb"', "control character in a string at byte 3" },
      { "nul", "unexpected end at byte 4" },
      { "[tru", "unexpected end at byte 5" },
      { "trUe", "unexpected character 'U' at byte 3" },
      { "True", "unexpected character 'T' at byte 1" },
      { "01", "unexpected text after the value at byte 2" },
      { "-", "unexpected end at byte 2" },
      { "-a", "invalid number at byte 2" },
      { "1.", "unexpected end at byte 3" },
      { "1.x", "invalid number at byte 3" },
      { "[-]", "invalid number at byte 3" },
      { ".5", "unexpected character '.' at byte 1" },
      { "1e+", "unexpected end at byte 4" },
      { "1e+x", "invalid number at byte 4" },
      { "+1", "unexpected character '+' at byte 1" },
      { "0x10", "unexpected text after the value at byte 2" },
      { "NaN", "unexpected character 'N' at byte 1" },
      { "[1] x", "unexpected text after the value at byte 5" },
      { "\239\187\191{}", "unexpected character at byte 1" },  -- a BOM: RFC 8259 says none is sent
      { "{}\0", "unexpected text after the value at byte 3" },
    }
    for _, c in ipairs(cases) do
      assert.same({ nil, c[2] }, { decode(c[1]) }, c[1])
    end
  end)

  -- A random JSON value of at most depth levels, made of what the API sends (and some it
  -- doesn't): the text cjson writes for it.
  local function random_value(depth)
    local r = math.random(depth > 0 and 9 or 6)
    if r == 1 then return cjson.null
    elseif r == 2 then return math.random(2) == 1
    elseif r == 3 then return math.random(-2 ^ 40, 2 ^ 40)
    elseif r == 4 then return (math.random() - 0.5) * 10 ^ math.random(-5, 20)
    elseif r <= 6 then
      local chars = {}
      for i = 1, math.random(0, 12) do chars[i] = string.char(math.random(0, 127)) end
      return table.concat(chars) .. (math.random(4) == 1 and "é😀" or "")
    elseif r <= 8 then
      local t = {}
      for i = 1, math.random(0, 5) do t["k" .. i .. string.char(math.random(32, 126))] = random_value(depth - 1) end
      return t
    else
      local t = {}
      for i = 1, math.random(1, 5) do t[i] = random_value(depth - 1) end
      return t
    end
  end

  -- What mistralai.json.decode used to do after cjson: nulls dropped, integral floats integers.
  local function cleaned(v)
    if v == cjson.null then return nil end
    if type(v) == "table" then
      for k, x in pairs(v) do v[k] = cleaned(x) end
    elseif has_integers and math.type(v) == "float" then
      return math.tointeger(v) or v
    end
    return v
  end

  local function same_types(a, b, path)
    assert.equal(type(a), type(b), path)
    if type(a) == "table" then
      for k, x in pairs(a) do same_types(x, b[k], path .. "." .. tostring(k)) end
    elseif type(a) == "number" then
      assert.equal(kind(a), kind(b), path)
    end
  end

  it("4,000 random documents: the same values and number kinds as cjson and the old null pass", function()
    math.randomseed(20261206)
    for i = 1, 4000 do
      local text = assert(cjson.encode(random_value(4)))
      local expected = cleaned(cjson.decode(text))
      local got, why = decode(text)
      assert.is_nil(why, text)
      assert.same(expected, got, text)
      same_types(expected, got, "document " .. i)
    end
  end)

  it("20,000 damaged documents: a value or nil and a message, never a Lua error", function()
    math.randomseed(7)
    for _ = 1, 20000 do
      local text = assert(cjson.encode(random_value(3)))
      local bytes = { text:byte(1, -1) }
      for _ = 1, math.random(3) do
        local at = math.random(#bytes + 1)
        local r = math.random(3)
        if r == 1 then table.remove(bytes, math.min(at, #bytes))
        elseif r == 2 then table.insert(bytes, at, math.random(0, 255))
        else bytes[math.min(at, #bytes)] = math.random(0, 255) end
      end
      local damaged = string.char((table.unpack or unpack)(bytes))
      local ok, v, why = pcall(decode, damaged)
      assert.is_true(ok, damaged)
      if v == nil and why ~= nil then assert.is_truthy(why:find(" at byte %d+$"), damaged) end
    end
  end)
end)
