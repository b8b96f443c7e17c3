-- Validation that knows the formats (docs/formats.md): each purpose's rules with a file that
-- passes and one that fails (the exact line numbers and reasons), the problems cap, ocr by
-- magic bytes, upload{ validate = true } using the upload's purpose, `mistral-files validate
-- --purpose`.
local jsonl = require("mistralai.jsonl")
local support = require("support")

-- One line per message list: {"messages":[...]} plus extra top-level fields.
local function chat(messages, extra)
  return '{"messages":[' .. table.concat(messages, ",") .. "]" .. (extra or "") .. "}"
end
local U, A = '{"role":"user","content":"Hi"}', '{"role":"assistant","content":"Hello"}'
local TOOLS = ',"tools":[{"type":"function","function":{"name":"anagram","description":"An anagram of a word",'
  .. '"parameters":{"type":"object","properties":{"word":{"type":"string"}},"required":["word"]}}}]'
local CALL = '{"role":"assistant","tool_calls":[{"id":"TX92Jm8Zi","type":"function",'
  .. '"function":{"name":"anagram","arguments":"{\\"word\\": \\"listen\\"}"}}]}'
local ANSWER = '{"role":"tool","content":"{\\"anagram\\": \\"silent\\"}","tool_call_id":"TX92Jm8Zi"}'

-- The problems of content checked for purpose, as { {line, reason}, ... }, or nil.
local function problems_of(content, purpose)
  local _, problems = jsonl.check_string(content, purpose)
  return problems
end

describe("validation by purpose", function()
  local dir
  setup(function() dir = support.tmpdir() end)

  it("without a purpose (or with one it has no rules for): JSON Lines only, as before", function()
    assert.same({ 2, nil }, { jsonl.check_string('{"a":1}\n{"b":2}\n') })
    assert.same({ 1, nil }, { jsonl.check_string('{"a":1}\n', "audio") })
    assert.same({ { line = 2, reason = "not a JSON object" } }, problems_of('{"a":1}\n[2]\n'))
    local path = support.write(dir .. "/plain.jsonl", '{"a":1}\n')
    assert.same({ 1, nil }, { jsonl.check_file(path) })
    assert.same({ 1, { { line = 1, reason = "messages is missing" } } }, { jsonl.check_file(path, "fine-tune") })
    assert.has_error(function() jsonl.check_string("{}", 5) end,
      "bad argument #2 to 'check_string' (string expected, got number)")
  end)

  it("the README's sample, examples/train.jsonl, is valid fine-tuning data", function()
    assert.same({ 3, nil }, { jsonl.check_file("examples/train.jsonl", "fine-tune") })
  end)

  it("fine-tune: conversations as Mistral documents them pass", function()
    local cases = {
      chat({ U, A }),
      chat({ '{"role":"system","content":"Be brief."}', U, '{"role":"assistant","content":"a","weight":0}', U,
        '{"role":"assistant","content":"b","weight":1}' }),
      chat({ '{"role":"system","content":"You may call functions."}', U, CALL, ANSWER, A, U, CALL }, TOOLS),
      chat({ U, '{"role":"assistant","content":null,"tool_calls":[{"function":{"name":"anagram","arguments":"{}"}}]}',
        '{"role":"tool","content":"x"}', A }, TOOLS),
      chat({ '{"role":"user","content":[{"type":"text","text":"Hi"}]}', A }, ',"tools":[]'),
      chat({ U, A }) .. "\r",  -- CRLF lines
    }
    for i, line in ipairs(cases) do
      assert.same({ 1, nil }, { jsonl.check_string(line .. "\n", "fine-tune") }, "case " .. i)
    end
  end)

  it("fine-tune: each rule names the line and the reason", function()
    local cases = {
      { '{"a":1}', "messages is missing" },
      { '{"messages":"nope"}', "messages must be a non-empty list" },
      { '{"messages":[]}', "messages must be a non-empty list" },
      { '{"messages":{"role":"user"}}', "messages must be a non-empty list" },
      { chat({ "1", A }), "messages[1] must be an object" },
      { chat({ '{"content":"x"}', A }), "messages[1]: role is missing" },
      { chat({ '{"role":"bot","content":"x"}', A }), 'messages[1]: role must be system, user, assistant or tool, not "bot"' },
      { chat({ '{"role":"user"}', A }), "messages[1]: content is missing" },
      { chat({ '{"role":"user","content":null}', A }), "messages[1]: content is missing" },
      { chat({ '{"role":"user","content":5}', A }), "messages[1]: content must be a string or a non-empty list" },
      { chat({ U }), "no assistant message" },
      { chat({ U, '{"role":"assistant"}' }), "messages[2]: an assistant message needs content or tool_calls" },
      { chat({ U, '{"role":"assistant","content":"a","weight":0.5}' }), "messages[2]: weight must be 0 or 1" },
      { chat({ U, '{"role":"assistant","content":"a","weight":"1"}' }), "messages[2]: weight must be 0 or 1" },
      { chat({ '{"role":"user","content":"x","tool_calls":[]}', A }), "messages[1]: only assistant messages may have tool_calls" },
      { chat({ U, '{"role":"assistant","content":"a","tool_calls":[{"function":{"name":"anagram","arguments":"{}"}}]}' }, TOOLS),
        "messages[2]: an assistant message with tool_calls cannot have content" },
      { chat({ U, '{"role":"assistant","tool_calls":[]}' }, TOOLS), "messages[2]: tool_calls must be a non-empty list" },
      { chat({ U, '{"role":"assistant","tool_calls":["x"]}' }, TOOLS), "messages[2]: tool_calls[1] must be an object" },
      { chat({ U, '{"role":"assistant","tool_calls":[{"id":7,"function":{"name":"anagram","arguments":"{}"}}]}' }, TOOLS),
        "messages[2]: tool_calls[1].id must be a string" },
      { chat({ U, '{"role":"assistant","tool_calls":[{"type":"tool","function":{"name":"anagram","arguments":"{}"}}]}' }, TOOLS),
        'messages[2]: tool_calls[1].type must be "function"' },
      { chat({ U, '{"role":"assistant","tool_calls":[{"name":"anagram"}]}' }, TOOLS),
        "messages[2]: tool_calls[1].function must be an object" },
      { chat({ U, '{"role":"assistant","tool_calls":[{"function":{"arguments":"{}"}}]}' }, TOOLS),
        "messages[2]: tool_calls[1].function.name must be a non-empty string" },
      { chat({ U, '{"role":"assistant","tool_calls":[{"function":{"name":"anagram","arguments":{"word":"x"}}}]}' }, TOOLS),
        "messages[2]: tool_calls[1].function.arguments must be a string (JSON text)" },
      { chat({ U, '{"role":"assistant","tool_calls":[{"function":{"name":"other","arguments":"{}"}}]}' }, TOOLS),
        'messages[2]: tool_calls[1]: "other" is not in tools' },
      { chat({ U, CALL, ANSWER, A }), 'messages[2]: tool_calls[1]: "anagram" is not in tools' },
      { chat({ U, ANSWER, A }, TOOLS), "messages[2]: a tool message must answer an earlier tool call" },
      { chat({ U, CALL, '{"role":"tool","content":"x","tool_call_id":"zzzzzzzzz"}', A }, TOOLS),
        "messages[3]: tool_call_id \"zzzzzzzzz\" matches no earlier tool call's id" },
      { chat({ U, A }, ',"tools":{"a":1}'), "tools must be a list" },
      { chat({ U, A }, ',"tools":[{"type":"function"}]'), "tools[1].function must be an object" },
      { chat({ U, A }, ',"tools":[{"type":"web","function":{"name":"f"}}]'), 'tools[1].type must be "function"' },
      { chat({ U, A }, ',"tools":[{"function":{"name":""}}]'), "tools[1].function.name must be a non-empty string" },
      { chat({ U, A }, ',"tools":[{"function":{"name":"f","description":1}}]'), "tools[1].function.description must be a string" },
      { chat({ U, A }, ',"tools":[{"function":{"name":"f","parameters":"x"}}]'), "tools[1].function.parameters must be an object" },
    }
    for i, case in ipairs(cases) do
      assert.same({ 1, { { line = 1, reason = case[2] } } }, { jsonl.check_string(case[1] .. "\n", "fine-tune") },
        "case " .. i)
    end
  end)

  it("fine-tune: the bad lines of a file by number, JSON problems among them", function()
    local path = support.write(dir .. "/train.jsonl", table.concat({
      chat({ U, A }), '{"a":1}', chat({ U, A }), "not json", "", '["x"]', chat({ U }), chat({ U, A }),
    }, "\n") .. "\n")
    local lines, problems = jsonl.check_file(path, "fine-tune")
    assert.same(8, lines)
    assert.same({
      { line = 2, reason = "messages is missing" },
      { line = 4, reason = "invalid JSON: unexpected character 'o' at byte 2" },
      { line = 5, reason = "empty line" },
      { line = 6, reason = "not a JSON object" },
      { line = 7, reason = "no assistant message" },
    }, problems)
    assert.same("line 2: messages is missing; line 4: invalid JSON: unexpected character 'o' at "
      .. "byte 2; line 5: empty line; line 6: not a JSON object; line 7: no assistant message",
      jsonl.describe(problems))
  end)

  it("batch: custom_id and body, as Mistral documents them", function()
    local good = '{"custom_id": "0", "body": {"max_tokens": 100, "messages": [{"role": "user", "content": "Cheese?"}]}}\n'
      .. '{"custom_id": "1", "body": {"max_tokens": 100, "messages": [{"role": "user", "content": "Wine?"}]}}\n'
    assert.same({ 2, nil }, { jsonl.check_string(good, "batch") })
    local cases = {
      { '{"body":{"input":"x"}}', "custom_id is missing" },
      { '{"custom_id":null,"body":{"input":"x"}}', "custom_id is missing" },
      { '{"custom_id":7,"body":{"input":"x"}}', "custom_id must be a non-empty string" },
      { '{"custom_id":"","body":{"input":"x"}}', "custom_id must be a non-empty string" },
      { '{"custom_id":"a"}', "body is missing" },
      { '{"custom_id":"a","body":"x"}', "body must be a non-empty object" },
      { '{"custom_id":"a","body":{}}', "body must be a non-empty object" },
      { '{"custom_id":"a","body":[1]}', "body must be a non-empty object" },
    }
    for i, case in ipairs(cases) do
      assert.same({ 1, { { line = 1, reason = case[2] } } }, { jsonl.check_string(case[1] .. "\n", "batch") },
        "case " .. i)
    end
  end)

  it("batch: a duplicate custom_id names the line of its first use", function()
    local body = ',"body":{"messages":[{"role":"user","content":"x"}]}}'
    local path = support.write(dir .. "/batch.jsonl", table.concat({
      '{"custom_id":"a"' .. body, '{"custom_id":"b"' .. body, '{"custom_id":"a"' .. body,
      '{"custom_id":"c"' .. body, '{"custom_id":"b"' .. body, '{"custom_id":"a"' .. body,
    }, "\n"))
    assert.same({ 6, {
      { line = 3, reason = 'custom_id "a" is already used on line 1' },
      { line = 5, reason = 'custom_id "b" is already used on line 2' },
      { line = 6, reason = 'custom_id "a" is already used on line 1' },
    } }, { jsonl.check_file(path, "batch") })
    -- each check starts afresh
    assert.same({ 1, nil }, { jsonl.check_string('{"custom_id":"a"' .. body, "batch") })
    assert.same({ 1, nil }, { jsonl.check_string('{"custom_id":"a"' .. body, "batch") })
  end)

  it("lists the first 10 problems and counts the rest", function()
    local ten = problems_of(('{"a":1}\n'):rep(10), "fine-tune")
    assert.same(10, #ten)
    assert.is_nil(ten.more)
    local path = support.write(dir .. "/many.jsonl", ('{"a":1}\n'):rep(20) .. chat({ U, A }) .. "\n" .. ("[]\n"):rep(5))
    local lines, problems = jsonl.check_file(path, "fine-tune")
    assert.same(26, lines)
    assert.same(10, #problems)
    assert.same({ line = 10, reason = "messages is missing" }, problems[10])
    assert.same(15, problems.more)
    assert.same(10, jsonl.MAX_PROBLEMS)
    assert.matches("^line 1: messages is missing; .*; line 10: messages is missing; %.%.%. and 15 more$",
      jsonl.describe(problems))
    local _, plain = jsonl.check_string(("[]\n"):rep(12))  -- without a purpose too
    assert.same({ 10, 2 }, { #plain, plain.more })
  end)

  it("ocr: the content decides the type, not the name", function()
    local zip = "PK\3\4" .. ("\0"):rep(26)
    local cases = {
      { "a.pdf", "%PDF-1.7\n%\226\227\207\211\n", "PDF" },
      { "a.pdf", "\137PNG\r\n\26\n\0\0\0\rIHDR", "PNG" },  -- named .pdf, really a PNG: passes as PNG
      { "a.jpg", "\255\216\255\224\0\16JFIF", "JPEG" },
      { "a.gif", "GIF89a\1\0\1\0", "GIF" },
      { "a.webp", "RIFF\36\0\0\0WEBPVP8 ", "WEBP" },
      { "a.tif", "II*\0\8\0\0\0", "TIFF" },
      { "a.tif", "MM\0*\0\0\0\8", "TIFF" },
      { "a.bmp", "BM\70\0\0\0\0\0\0\0\54\0\0\0", "BMP" },
      { "a.avif", "\0\0\0\28ftypavif\0\0\0\0", "AVIF" },
      { "a.docx", zip .. "[Content_Types].xml<x/>" .. zip .. "word/document.xml", "DOCX" },
      { "a.pptx", zip .. "ppt/slides/slide1.xml", "PPTX" },
    }
    for _, case in ipairs(cases) do
      local path = support.write(dir .. "/" .. case[1], case[2])
      assert.same({ case[3], nil }, { jsonl.check_file(path, "ocr") }, case[1])
      assert.same({ case[3], nil }, { jsonl.check_string(case[2], "ocr") }, case[1])
    end
    local not_accepted = "not a type OCR accepts (PDF, PNG, JPEG, GIF, WEBP, TIFF, BMP, AVIF, DOCX or PPTX) by its content"
    local bad = {
      { "text.pdf", "This is not a PDF.\n", not_accepted },
      { "lines.jsonl", '{"a":1}\n', not_accepted },
      { "b.bmp", "BMW cars\n", not_accepted },
      { "a.zip", zip .. "notes/readme.txt", "a ZIP archive, but not a DOCX or PPTX document" },
      { "empty.pdf", "", "the file is empty" },
    }
    for _, case in ipairs(bad) do
      local path = support.write(dir .. "/" .. case[1], case[2])
      assert.same({ 0, { { line = 0, reason = case[3] } } }, { jsonl.check_file(path, "ocr") }, case[1])
    end
    assert.same(not_accepted, jsonl.describe(problems_of("text", "ocr")))
  end)

  it("upload{ validate = true } checks what the purpose needs and sends nothing when it fails", function()
    local client = support.client()
    local body = ',"body":{"messages":[{"role":"user","content":"x"}]}}'
    local dup = support.write(dir .. "/dup.jsonl", '{"custom_id":"0"' .. body .. '\n{"custom_id":"0"' .. body .. "\n")
    support.reset()
    local f, err = client.files.upload{ file = dup, purpose = "batch", validate = true }
    assert.is_nil(f)
    assert.same("invalid", err.kind)
    assert.same({ { line = 2, reason = 'custom_id "0" is already used on line 1' } }, err.problems)
    assert.same('dup.jsonl is not valid for purpose batch: line 2: custom_id "0" is already used on line 1', err.message)
    assert.same({}, support.requests())
    -- no purpose: the API's default, fine-tune
    local _, err2 = client.files.upload{ file = { file_name = "t.jsonl", content = '{"a":1}\n' }, validate = true }
    assert.same("t.jsonl is not valid for purpose fine-tune: line 1: messages is missing", err2.message)
    local _, err3 = client.files.upload{ file = { file_name = "scan.pdf", content = "hello" }, purpose = "ocr",
      validate = true }
    assert.same("invalid", err3.kind)
    assert.same({ { line = 0, reason = "not a type OCR accepts (PDF, PNG, JPEG, GIF, WEBP, TIFF, BMP, AVIF, DOCX or PPTX)"
      .. " by its content" } }, err3.problems)
    assert.same({}, support.requests())
    -- valid files go
    local ok = support.write(dir .. "/ok-batch.jsonl", '{"custom_id":"0"' .. body .. '\n{"custom_id":"1"' .. body .. "\n")
    assert.same("batch", assert(client.files.upload{ file = ok, purpose = "batch", validate = true }).purpose)
    assert(client.files.upload{ file = { file_name = "t.jsonl", content = chat({ U, A }) .. "\n" }, validate = true })
    assert(client.files.upload{ file = { file_name = "scan.pdf", content = "%PDF-1.4\n" }, purpose = "ocr",
      validate = true })
    client:close()
  end)

  describe("mistral-files validate", function()
    local lua, root
    setup(function()
      lua = os.getenv("MISTRALAI_TEST_LUA") or "lua5.4"
      root = support.sh("pwd"):gsub("%s+$", "")
    end)

    -- Runs the command in dir (no server needed); returns status, stdout, stderr.
    local function cli(args)
      local env = ("LUA_PATH='%s/lua/?.lua;%s/lua/?/init.lua;;' LUA_CPATH='%s/build/%s/?.so;;' MISTRAL_SERVER_URL='%s' "
        .. "MISTRAL_API_KEY='%s'"):format(root, root, root, lua, support.url, support.api_key)
      local err_file = dir .. "/stderr"
      local out = support.sh(("cd '%s' && %s %s %s/bin/mistral-files %s 2>'%s' < /dev/null; echo \"status $?\"")
        :format(dir, env, lua, root, args, err_file))
      local status = tonumber(out:match("status (%d+)\n$"))
      return status, out:gsub("status %d+\n$", ""), support.read(err_file)
    end

    it("--purpose batch, fine-tune by default, ocr, and the count of the rest", function()
      local body = ',"body":{"input":"x"}}'
      local good = support.write(dir .. "/good-batch.jsonl", '{"custom_id":"a"' .. body .. "\n")
      support.write(dir .. "/bad-batch.jsonl", '{"custom_id":"a"' .. body .. '\n{"custom_id":"a"' .. body
        .. '\n{"body":{"input":"x"}}\n')
      local status, out = cli("validate --purpose batch good-batch.jsonl bad-batch.jsonl")
      assert.same(1, status)
      assert.same("good-batch.jsonl: ok, 1 lines\n"
        .. 'bad-batch.jsonl:2: custom_id "a" is already used on line 1\n'
        .. "bad-batch.jsonl:3: custom_id is missing\n", out)
      assert.same(0, (cli("validate --purpose batch " .. good)))
      -- fine-tune unless told otherwise: a batch file is not fine-tuning data
      local s2, out2 = cli("validate good-batch.jsonl")
      assert.same(1, s2)
      assert.same("good-batch.jsonl:1: messages is missing\n", out2)
      support.write(dir .. "/train.jsonl", chat({ U, A }) .. "\n" .. chat({ U, A }) .. "\n")
      local s1, out1 = cli("validate train.jsonl --purpose fine-tune")
      assert.same({ 0, "train.jsonl: ok, 2 lines\n" }, { s1, out1 })
      support.write(dir .. "/many.jsonl", ('{"a":1}\n'):rep(13))
      local s3, out3 = cli("validate many.jsonl")
      assert.same(1, s3)
      assert.matches("^many%.jsonl:1: messages is missing\n.*many%.jsonl:10: messages is missing\n"
        .. "many%.jsonl: %.%.%. and 3 more\n$", out3)
      support.write(dir .. "/scan.pdf", "\137PNG\r\n\26\n\0\0\0\rIHDR")
      support.write(dir .. "/notes.pdf", "notes\n")
      local s4, out4 = cli("validate --purpose ocr scan.pdf notes.pdf")
      assert.same(1, s4)
      assert.same("scan.pdf: ok, PNG\nnotes.pdf:0: not a type OCR accepts (PDF, PNG, JPEG, GIF, WEBP, TIFF, BMP, "
        .. "AVIF, DOCX or PPTX) by its content\n", out4)
      local s5, help = cli("validate --help")
      assert.same(0, s5)
      assert.matches("%-%-purpose P", help)
    end)

    it("upload --validate --purpose batch refuses a bad file before sending it", function()
      local body = ',"body":{"input":"x"}}'
      support.write(dir .. "/dup2.jsonl", '{"custom_id":"a"' .. body .. '\n{"custom_id":"a"' .. body .. "\n")
      support.reset()
      local status, out, err = cli("upload dup2.jsonl --purpose batch --validate")
      assert.same({ 1, "" }, { status, out })
      assert.same('mistral-files: dup2.jsonl is not valid for purpose batch: line 2: custom_id "a" is already used '
        .. "on line 1\n", err)
      assert.same({}, support.requests())
    end)
  end)

  it("#timing checks typical fine-tuning lines at over 20 MB/s", function()
    local line = chat({ '{"role":"system","content":"You are a helpful assistant who answers in French."}',
      '{"role":"user","content":"' .. ("Quelle est la capitale de la France ? "):rep(8) .. '"}',
      '{"role":"assistant","content":"' .. ("La capitale de la France est Paris. "):rep(12) .. '"}' }) .. "\n"
    local path = support.write(dir .. "/speed.jsonl", line:rep(math.ceil(16 * 1024 * 1024 / #line)))
    local size = #line * math.ceil(16 * 1024 * 1024 / #line)
    local start = os.clock()
    local lines, problems = jsonl.check_file(path, "fine-tune")
    local rate = size / (os.clock() - start) / 1e6
    assert.is_nil(problems)
    assert.is_true(lines > 0)
    assert.is_true(rate > 20, ("%.1f MB/s"):format(rate))
  end)
end)
