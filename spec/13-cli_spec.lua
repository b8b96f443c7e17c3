-- mistral-files, run as a subprocess against the local server: every command and flag, its
-- output and exit status.
local core = require("mistralai.core")
local support = require("support")

describe("mistral-files", function()
  local dir, lua, build, root
  setup(function()
    dir = support.tmpdir()
    lua = os.getenv("MISTRALAI_TEST_LUA") or "lua5.4"
    root = support.sh("pwd"):gsub("%s+$", "")
    build = "build/" .. lua  -- the command as a user runs it: the regular build, no sanitizer runtime
  end)

  -- Runs the command in dir with the test server's URL and key; returns status, stdout, stderr.
  local function cli(args, opts)
    opts = opts or {}
    local env = ("LUA_PATH='%s/lua/?.lua;%s/lua/?/init.lua;;' LUA_CPATH='%s/%s/?.so;;' MISTRAL_SERVER_URL='%s' %s='%s'")
      :format(root, root, root, build, support.url, opts.key_env or "MISTRAL_API_KEY", opts.key or support.api_key)
    local err_file = dir .. "/stderr"
    local out = support.sh(("cd '%s' && %s %s %s/bin/mistral-files %s 2>'%s' %s; echo \"status $?\"")
      :format(dir, env, lua, root, args, err_file, opts.stdin and ("< '" .. opts.stdin .. "'") or "< /dev/null"))
    local status = tonumber(out:match("status (%d+)\n$"))
    return status, out:gsub("status %d+\n$", ""), support.read(err_file)
  end

  local function upload(path, extra)
    local status, out, err = cli("upload " .. path .. " " .. (extra or ""))
    assert.same(0, status, err)
    return out:match("^([%w-]+)\t")
  end

  it("--version and --help", function()
    local status, out = cli("--version")
    assert.same(0, status)
    assert.matches("^mistral%-files %d+%.%d+%.%d+\n$", out)
    local s2, help = cli("--help")
    assert.same(0, s2)
    assert.matches("Usage: mistral%-files", help)
    for _, cmd in ipairs({ "upload", "ls", "info", "download", "rm", "url", "validate" }) do
      local s3, text = cli(cmd .. " --help")
      assert.same(0, s3)
      assert.matches("^Usage: mistral%-files " .. cmd, text)
    end
    local s4, bare = cli("")
    assert.same(2, s4)
    assert.matches("Commands:", bare)
  end)

  it("upload: files, options, stdin, the name of one file", function()
    local path = support.write(dir .. "/train.jsonl", '{"a":1}\n{"a":2}\n')
    local status, out, err = cli("upload " .. path .. " " .. path .. " --purpose batch --visibility user --expiry 2")
    assert.same(0, status, err)
    local lines = {}
    for id, name, size in out:gmatch("([%w-]+)\t([^\t]+)\t([^\n]+)\n") do lines[#lines + 1] = { id, name, size } end
    assert.same(2, #lines)
    assert.same({ "train.jsonl", "16 B" }, { lines[1][2], lines[1][3] })
    local c = support.client()
    local f = assert(c.files.retrieve(lines[1][1]))
    assert.same({ "batch", "user", f.created_at + 7200 }, { f.purpose, f.visibility, f.expires_at })
    local s2, out2 = cli("upload - --name piped.jsonl", { stdin = path })
    assert.same(0, s2)
    local piped = assert(c.files.retrieve(out2:match("^([%w-]+)")))
    assert.same({ "piped.jsonl", 16 }, { piped.filename, piped.bytes })
    local s3, _, err3 = cli("upload " .. path .. " " .. path .. " --name x")
    assert.same(2, s3)
    assert.matches("%-%-name is for one file only", err3)
    c:close()
  end)

  it("upload --validate refuses a bad file before sending it", function()
    local bad = support.write(dir .. "/bad.jsonl", '{"ok":1}\nnot json\n')
    local status, out, err = cli("upload " .. bad .. " --validate")
    assert.same(1, status)
    assert.same("", out)
    assert.same("mistral-files: bad.jsonl is not valid JSON Lines: line 2: invalid JSON: "
      .. "Expected value but found invalid token at character 1\n", err)
  end)

  it("ls: a table, JSON lines, filters, pages, --all", function()
    local stamp = "cli-ls-" .. os.time()
    for i = 1, 3 do upload(support.write(("%s/%s-%d.jsonl"):format(dir, stamp, i), "{}\n"), "--purpose ocr") end
    local status, out = cli("ls --search " .. stamp)
    assert.same(0, status)
    local rows = {}
    for line in out:gmatch("[^\n]+") do rows[#rows + 1] = line end
    assert.matches("^ID%s+FILENAME%s+SIZE%s+PURPOSE%s+CREATED$", rows[1])
    assert.same(4, #rows)
    assert.matches("^[%w-]+%s+" .. stamp:gsub("%-", "%%-") .. "%-3%.jsonl%s+3 B%s+ocr%s+%d%d%d%d%-%d%d%-%d%d %d%d:%d%d$", rows[2])
    local _, json = cli("ls --json --search " .. stamp .. " --purpose ocr --source upload --sample-type instruct")
    local n = 0
    for line in json:gmatch("[^\n]+") do
      n = n + 1
      assert.matches('"purpose":"ocr"', line)
    end
    assert.same(3, n)
    local _, page1 = cli("ls --json --search " .. stamp .. " --page 1 --page-size 2")
    assert.same(1, select(2, page1:gsub("\n", "")))
    local _, all = cli("ls --json --all --search " .. stamp)
    assert.same(3, select(2, all:gsub("\n", "")))
    local s4, _, err4 = cli("ls --all --page 2")
    assert.same(2, s4)
    assert.matches("%-%-all lists every page", err4)
  end)

  it("info, url, rm", function()
    local id = upload(support.write(dir .. "/info.jsonl", '{"i":1}\n'))
    local status, out = cli("info " .. id)
    assert.same(0, status)
    assert.matches("\nfilename%s+info%.jsonl\n", out)
    assert.matches("\nnum_lines%s+1\n", out)
    local _, json = cli("info --json " .. id)
    assert.is_true(support.has(json, '"id":"' .. id .. '"'))
    local s2, url = cli("url " .. id .. " --expiry 3")
    assert.same(0, s2)
    assert.same('{"i":1}\n', support.sh("curl -s '" .. url:gsub("%s+$", "") .. "'"))
    local s3, _, err3 = cli("url " .. id .. " --expiry 500")
    assert.same(2, s3)
    assert.matches("%-%-expiry must be a whole number from 1 to 168", err3)
    local s4, out4, err4 = cli("rm " .. id .. " no-such-id")
    assert.same(1, s4)
    assert.same("deleted " .. id .. "\n", out4)
    assert.same("mistral-files: No file with id 'no-such-id' was found (HTTP 404)\n", err4)
  end)

  it("download: to its own name, never overwriting without --force, to -o PATH, to stdout", function()
    local id = upload(support.write(dir .. "/src.bin", "content"), "--name fetched.bin")
    local out_dir = dir .. "/dl"
    support.sh("mkdir -p '" .. out_dir .. "'")
    local function dl(args) return cli(("download %s %s"):format(id, args)) end
    local status, out = cli(("download %s -o %s/dl/a.bin"):format(id, dir))
    assert.same(0, status)
    assert.same(dir .. "/dl/a.bin\n", out)
    assert.same("content", support.read(out_dir .. "/a.bin"))
    local s2, out2 = dl("")
    assert.same(0, s2)
    assert.same("fetched.bin\n", out2)
    assert.same("content", support.read(dir .. "/fetched.bin"))
    support.write(dir .. "/fetched.bin", "mine")
    local s3, _, err3 = dl("")
    assert.same(1, s3)
    assert.same("mistral-files: fetched.bin exists; --force overwrites it\n", err3)
    assert.same("mine", support.read(dir .. "/fetched.bin"))
    local s4 = dl("--force")
    assert.same(0, s4)
    assert.same("content", support.read(dir .. "/fetched.bin"))
    local s5, out5 = dl("-o -")
    assert.same(0, s5)
    assert.same("content", out5)
  end)

  it("#timing --limit-rate caps a transfer as curl's syntax says", function()
    local id = upload(support.write(dir .. "/rate.bin", ("r"):rep(1024 * 1024)))
    local t0 = core.now()
    local status = cli("--limit-rate 1M download " .. id .. " -o rated.bin")
    local seconds = core.now() - t0
    assert.same(0, status)
    assert.is_true(seconds > 0.75 and seconds < 1.4, ("1 MiB at 1M took %.2f s"):format(seconds))
    local s2, _, err = cli("--limit-rate 2X ls")
    assert.same(2, s2)
    assert.same("mistral-files: --limit-rate takes bytes a second from 1 to 2G, e.g. 500K or 2M, not '2X'\n"
      .. "Try 'mistral-files --help'.\n", err)
  end)

  it("download keeps a hostile file name inside the current folder", function()
    local id = upload(support.write(dir .. "/x.bin", "x"), "--name '../escaped.bin'")
    local status, out = cli("download " .. id)
    assert.same(0, status)
    assert.same("escaped.bin\n", out)
    assert.is_true(support.exists(dir .. "/escaped.bin"))
  end)

  it("validate reports the first bad lines by number", function()
    local good = support.write(dir .. "/good.jsonl", '{"a":1}\n{"b":[1,2]}\n')
    local bad = support.write(dir .. "/bad2.jsonl", '{"a":1}\n[1]\n\n"s"\n{"x":"\255"}\n')
    local empty = support.write(dir .. "/empty.jsonl", "")
    local status, out = cli(("validate %s %s %s"):format(good, bad, empty))
    assert.same(1, status)
    assert.same(good .. ": ok, 2 lines\n"
      .. bad .. ":2: not a JSON object\n" .. bad .. ":3: empty line\n" .. bad .. ":4: not a JSON object\n"
      .. bad .. ":5: invalid UTF-8 at byte 7\n" .. empty .. ":0: the file is empty\n", out)
    local s2 = cli("validate " .. good)
    assert.same(0, s2)
  end)

  it("--api-key-env, --server-url, and one clear line on failure, never the key", function()
    local status, _, err = cli("ls", { key = "sk-cli-secret", key_env = "MY_KEY" })
    assert.same(1, status)
    assert.same("mistral-files: Unauthorized (HTTP 401)\n", err)
    local s2 = cli("--api-key-env MY_KEY ls", { key = support.api_key, key_env = "MY_KEY" })
    assert.same(0, s2)
    local s3, _, err3 = cli("--server-url " .. support.url .. "/elsewhere ls")
    assert.same(1, s3)
    assert.same("mistral-files: no Route matched with those values (HTTP 404)\n", err3)
    local s4, _, err4 = cli("ls --bogus")
    assert.same(2, s4)
    assert.same("mistral-files: unknown option --bogus for ls\nTry 'mistral-files --help'.\n", err4)
    assert.is_false(support.has(err, "sk-cli-secret"))
  end)

  it("draws no progress bar when stderr is not a terminal", function()
    local path = support.random_file(dir .. "/quiet.bin", 4 * 1024 * 1024)
    local status, _, err = cli("upload " .. path)
    assert.same(0, status)
    assert.same("", err)
  end)
end)
