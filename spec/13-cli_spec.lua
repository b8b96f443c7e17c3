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
    local out = support.sh(("cd '%s' && %s %s %s %s/bin/mistral-files %s 2>'%s' %s; echo \"status $?\"")
      :format(dir, env, opts.env or "", lua, root, args, err_file, opts.stdin and ("< '" .. opts.stdin .. "'") or "< /dev/null"))
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
    local bad = support.write(dir .. "/bad.jsonl", '{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}\nnot json\n')
    local status, out, err = cli("upload " .. bad .. " --validate")
    assert.same(1, status)
    assert.same("", out)
    assert.same("mistral-files: bad.jsonl is not valid for purpose fine-tune: line 2: invalid JSON: "
      .. "unexpected character 'o' at byte 2\n", err)
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
    local chat = '{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}'
    local good = support.write(dir .. "/good.jsonl", chat .. "\n" .. chat .. "\n")
    local bad = support.write(dir .. "/bad2.jsonl", chat .. '\n[1]\n\n"s"\n{"x":"\255"}\n')
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
    assert.same("mistral-files: MISTRAL_API_KEY is not set (HTTP 401)\n", err)
    local s1, _, err1 = cli("ls", { key = "sk-wrong-key" })
    assert.same(1, s1)
    assert.same("mistral-files: Unauthorized (HTTP 401)\n", err1)
    local s1b, _, err1b = cli("--api-key-env OTHER_KEY ls")
    assert.same(1, s1b)
    assert.same("mistral-files: OTHER_KEY is not set (HTTP 401)\n", err1b)
    local s1c, _, err1c = cli("--server-url ftp://x ls")
    assert.same(2, s1c)
    assert.same("mistral-files: --server-url takes an http:// or https:// URL\nTry 'mistral-files --help'.\n", err1c)
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
  it("a full disk is a failure, never a silent truncation: download -o -, ls, exit 1", function()
    local id = upload(support.write(dir .. "/full.bin", ("f"):rep(256 * 1024)))
    local status, _, err = cli("download " .. id .. " -o - >/dev/full")
    assert.same(1, status)
    assert.same("mistral-files: cannot write to stdout: No space left on device\n", err)
    local s2, _, err2 = cli("ls >/dev/full")
    assert.same(1, s2)
    assert.same("mistral-files: cannot write to stdout: No space left on device\n", err2)
  end)

  it("a temporary folder that takes no more bytes: upload - fails with the reason, its copy removed", function()
    local temp = dir .. "/tmp-full"
    support.sh("mkdir -p '" .. temp .. "'")
    local input = support.random_file(dir .. "/big-stdin.bin", 64 * 1024)
    -- a file size limit of 1 KiB (SIGXFSZ ignored, so writes fail with EFBIG): a full disk as
    -- the process sees it
    local status, _, err = cli("upload - --name s.bin", { stdin = input,
      env = "TMPDIR='" .. temp .. "' sh -c 'trap \"\" XFSZ; ulimit -f 2; exec \"$0\" \"$@\"'" })
    assert.same(1, status)
    assert.matches("^mistral%-files: cannot keep a copy of stdin in .*: File too large\n$", err)
    assert.same({}, support.ls(temp))
  end)

  it("upload - removes its copy of stdin on every way out: success, failure, usage error", function()
    local temp = dir .. "/tmp"
    support.sh("mkdir -p '" .. temp .. "'")
    local input = support.write(dir .. "/stdin.jsonl", "{}\n")
    local opts = { stdin = input, env = "TMPDIR='" .. temp .. "'" }
    assert.same(0, (cli("upload - --name s.jsonl", opts)))
    assert.same(1, (cli("upload - " .. dir .. "/missing.jsonl", opts)))
    assert.same(2, (cli("upload - --expiry soon", opts)))
    opts.key = "wrong"
    assert.same(1, (cli("upload - --name s.jsonl", opts)))
    assert.same({}, support.ls(temp))
    -- the copy is made there ($TMPDIR), seen while a stalled upload holds it
    support.fault{ kind = "stall", seconds = 1, method = "POST" }
    local env = ("LUA_PATH='%s/lua/?.lua;%s/lua/?/init.lua;;' LUA_CPATH='%s/%s/?.so;;' MISTRAL_SERVER_URL='%s' "
      .. "MISTRAL_API_KEY='%s' TMPDIR='%s'"):format(root, root, root, build, support.url, support.api_key, temp)
    local job = support.popen(("%s %s %s/bin/mistral-files upload - --name s.jsonl < '%s'"):format(env, lua, root, input))
    support.sh("sleep 0.5")
    assert.same(1, #support.ls(temp))
    job:read("*a")
    job:close()
    assert.same({}, support.ls(temp))
  end)

  it("--force decides on existence, not readability: a FIFO nobody reads is refused at once", function()
    local id = upload(support.write(dir .. "/f.bin", "f"))
    support.sh("mkfifo '" .. dir .. "/pipe.bin'")
    local t0 = core.now()
    local status, _, err = cli("download " .. id .. " -o pipe.bin")
    assert.same(1, status)
    assert.same("mistral-files: pipe.bin exists; --force overwrites it\n", err)
    assert.is_true(core.now() - t0 < 5)
  end)

  it("escapes control characters in what a server sends: names, messages", function()
    local id = upload(support.write(dir .. "/e.bin", "e"), [[--name "$(printf 'evil\033]0;owned\007\302\233.bin')"]])
    local status, out = cli("ls")
    assert.same(0, status)
    assert.is_true(support.has(out, "evil\\x1b]0;owned\\x07\\u009b.bin"), out)
    assert.is_false(out:find("[\27\7]") ~= nil, out)
    local s2, info = cli("info " .. id)
    assert.same(0, s2)
    assert.is_true(support.has(info, "evil\\x1b]0;owned\\x07"), info)
    support.fault{ kind = "body", status = 400, body = '{"message":"bad \\u001b[31mred\\u0007"}', method = "GET" }
    local s3, _, err3 = cli("info " .. id)
    assert.same(1, s3)
    assert.same("mistral-files: bad \\x1b[31mred\\x07 (HTTP 400)\n", err3)
  end)

  it("#timing Ctrl-C ends a download within 200 ms: exit 130, no temporary file left", function()
    local id = upload(support.write(dir .. "/int.bin", ("i"):rep(4 * 1024 * 1024)))
    support.fault{ kind = "trickle", rate = 256 * 1024, method = "GET" }
    local env = ("LUA_PATH='%s/lua/?.lua;%s/lua/?/init.lua;;' LUA_CPATH='%s/%s/?.so;;' MISTRAL_SERVER_URL='%s' MISTRAL_API_KEY='%s'")
      :format(root, root, root, build, support.url, support.api_key)
    local out = support.sh(("cd '%s' && mkdir -p int && cd int && (%s %s %s/bin/mistral-files download %s -o int.bin "
      .. "2>stderr & pid=$!; sleep 1; t0=$(date +%%s%%N); kill -INT $pid; wait $pid; "
      .. "echo \"status $? ms $(( ($(date +%%s%%N) - t0) / 1000000 ))\")"):format(dir, env, lua, root, id))
    local status, ms = out:match("status (%d+) ms (%d+)")
    assert.same("130", status, out)
    assert.is_true(tonumber(ms) <= 200, ms .. " ms")
    assert.same("mistral-files: interrupted\n", support.read(dir .. "/int/stderr"))
    assert.same("stderr\n", support.sh("ls '" .. dir .. "/int'"))
  end)
  it("shows each retry on stderr as it happens; --retries bounds them; the last line counts attempts and time", function()
    local status, _, err = cli("--server-url http://127.0.0.1:1 --retries 2 ls")
    assert.same(1, status)
    local lines = {}
    for line in err:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.same(3, #lines, err)
    assert.matches("^mistral%-files: retrying in %d+%.%d s %(attempt 2%): .*[Cc]onnect", lines[1])
    assert.matches("^mistral%-files: retrying in %d+%.%d s %(attempt 3%): ", lines[2])
    assert.matches("^mistral%-files: .*[Cc]onnect.* %(3 attempts over %d+%.%d s%)$", lines[3])
    local s2, _, err2 = cli("--server-url http://127.0.0.1:1 --no-retry ls")
    assert.same(1, s2)
    assert.is_false(support.has(err2, "retrying"), err2)
    assert.is_false(support.has(err2, "attempts"), err2)
    local s3, _, err3 = cli("--quiet --server-url http://127.0.0.1:1 --retries 1 ls")
    assert.same(1, s3)
    assert.is_false(support.has(err3, "retrying"), err3)
    local s4, _, err4 = cli("--retries 1 --no-retry ls")
    assert.same(2, s4)
    assert.matches("exclude each other", err4)
  end)

  it("#timing --timeout bounds an operation, retries included", function()
    local t0 = core.now()
    local status, _, err = cli("--server-url http://127.0.0.1:1 --timeout 1.5 ls")
    local seconds = core.now() - t0
    assert.same(1, status)
    assert.is_true(seconds > 0.5 and seconds < 2.2, ("took %.2f s"):format(seconds))
    assert.matches("attempts over [01]%.%d s%)\n$", err)
    local s2, _, err2 = cli("--timeout 0 ls")
    assert.same(2, s2)
    assert.matches("%-%-timeout takes seconds", err2)
  end)

  it("--verbose: one line per request and per response, the key hidden", function()
    local status, _, err = cli("--verbose ls --page-size 1", { key = support.api_key })
    assert.same(0, status)
    assert.matches("^> GET http://127%.0%.0%.1:%d+/v1/files%?include_total=true&page=0&page_size=1 | ", err)
    assert.matches("\n< 200 GET http://", err)
    assert.is_true(support.has(err, "Authorization: [redacted]"), err)
    assert.is_false(support.has(err, support.api_key), err)
  end)

  it("upload --content-type; ls --mimetypes and --include-total", function()
    local name = "typed-" .. os.time() .. "-" .. math.random(1e6) .. ".bin"
    local id = upload(support.write(dir .. "/" .. name, "t"), "--content-type text/x-typed")
    local c = support.client()
    assert.same("text/x-typed", assert(c.files.retrieve(id)).mimetype)
    c:close()
    local status, out = cli("ls --mimetypes text/x-typed --include-total")
    assert.same(0, status)
    assert.is_true(support.has(out, id), out)
    assert.matches("\n1 files match\n$", out)
  end)
  it("several files side by side (-j): every one tried, reported in order, exit 1 if any failed", function()
    local a = support.write(dir .. "/par-a.txt", "aaa")
    local b = support.write(dir .. "/par-b.txt", "bbbb")
    local status, out, err = cli(("upload %s %s/par-missing.txt %s -j 2"):format(a, dir, b))
    assert.same(1, status)
    local ids = {}
    for id, name in out:gmatch("([%w-]+)\t([^\t]+)\t[^\n]+\n") do ids[#ids + 1] = { id, name } end
    assert.same({ "par-a.txt", "par-b.txt" }, { ids[1][2], ids[2][2] })
    assert.matches("^mistral%-files: par%-missing%.txt: .*No such file or directory\n$", err)
    local down = dir .. "/par-down"
    support.sh("mkdir -p '" .. down .. "'")
    local s2, out2 = cli(("download %s %s -j 3 --force"):format(ids[1][1], ids[2][1]), { env = "" })
    assert.same(0, s2)
    assert.same("par-a.txt\npar-b.txt\n", out2)
    assert.same("aaa", support.read(dir .. "/par-a.txt"))
    local s3, _, err3 = cli(("download %s %s -o x.bin"):format(ids[1][1], ids[2][1]))
    assert.same(2, s3)
    assert.matches("%-o is for one file only", err3)
    local s4, _, err4 = cli(("download %s -j 0"):format(ids[1][1]))
    assert.same(2, s4)
    assert.matches("must be a whole number from 1 to 64", err4)
  end)
  it("--json prints what the API sent: nulls kept, no \\/; an empty error body says HTTP 404 once", function()
    local body = '{"id":"j1","object":"file","filename":"a/b.txt","bytes":3,"expires_at":null}'
    support.fault{ kind = "body", status = 200, body = body, method = "GET" }
    local status, out = cli("info j1 --json")
    assert.same(0, status)
    support.fault{ kind = "body", status = 200, body = '{"id":"j1","object":"file","created_at":1796000000}', method = "GET" }
    local s0, plain = cli("info j1")
    assert.same(0, s0)
    assert.matches("created_at%s+2026%-11%-30 00:53 UTC\n", plain)  -- as ls shows dates, in UTC
    assert.is_true(support.has(out, '"expires_at":null'), out)
    assert.is_true(support.has(out, '"filename":"a/b.txt"'), out)
    local page = '{"object":"list","data":[{"id":"j1","filename":"x/y","num_lines":null}],"total":1}'
    for _, args in ipairs({ "ls --json", "ls --all --json" }) do
      support.fault{ kind = "body", status = 200, body = page, method = "GET" }
      local s2, out2 = cli(args)
      assert.same(0, s2, args)
      assert.is_true(support.has(out2, '"num_lines":null') and support.has(out2, '"filename":"x/y"'), args .. ": " .. out2)
    end
    support.fault{ kind = "body", status = 404, body = "", method = "GET" }
    local s3, _, err3 = cli("info j2 --no-retry")
    assert.same(1, s3)
    assert.matches("^mistral%-files: HTTP 404[^\n]*\n$", err3)
    assert.is_nil(err3:find("HTTP 404.*HTTP 404"), err3)
  end)
end)
