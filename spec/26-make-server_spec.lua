-- `make server` as a user would run it: without root (nginx found off the PATH), printing the
-- URL once the server answers, keeping its files across restarts in DATA_DIR, stopped by
-- Ctrl-C; and one clear line with exit status 1 when nginx cannot start.
local support = require("support")

describe("make server", function()
  local work, as, env
  setup(function()
    work = support.tmpdir()
    support.sh(("chmod 755 '%s' && mkdir -p '%s/data' '%s/home'"):format(work, work, work))
    as = ""
    if support.sh("id -u"):match("^0") then  -- root: the same as nobody, who owns only these folders
      support.sh(("chown 65534:65534 '%s/data' '%s/home'"):format(work, work))
      as = "setpriv --reuid=65534 --regid=65534 --clear-groups"
    end
    -- a user's environment: no /usr/sbin on the PATH, no TMPDIR of the suite's; and Ctrl-C's
    -- signal handled as in a terminal (a shell's background job starts with it ignored)
    env = ("env --default-signal=INT -i PATH=/usr/local/bin:/usr/bin:/bin HOME='%s/home' DATA_DIR='%s/data'")
      :format(work, work)
  end)

  -- Starts `make server PORT=port` in a session of its own; returns its pid (the group's).
  local function start(port)
    local out = support.sh(("cd '%s' && %s setsid %s make --no-print-directory -s server PORT=%d "
      .. "> '%s/out.log' 2> '%s/err.log' < /dev/null & echo $!"):format(support.sh("pwd"):gsub("%s+$", ""), as, env,
      port, work, work))
    return tonumber(out:match("%d+"))
  end
  -- Ctrl-C, as a terminal sends it to the whole group; returns once make has exited.
  local function interrupt(pid)
    support.sh("kill -s INT -- -" .. pid)  -- dash: -s, then the group
    for _ = 1, 200 do
      -- (an exited make may stay a zombie: nobody waits for it here)
      if support.sh("ps -o stat= -g " .. pid .. " | grep -v '^Z'") == "" then return true end
      support.sh("sleep 0.05")
    end
    return false
  end
  local function wait_for(pattern)
    for _ = 1, 200 do
      local log = support.read(work .. "/err.log") or ""
      if log:find(pattern) then return log end
      support.sh("sleep 0.05")
    end
    return support.read(work .. "/err.log") or ""
  end

  it("as a user without root: answers once it says so, keeps its files across restarts, Ctrl-C stops it", function()
    local port = math.random(20000, 60000)
    local pid = start(port)
    local banner = wait_for("export MISTRAL_SERVER_URL")
    assert.matches(("on http://127%%.0%%.0%%.1:%d %%(API key local%%-test%%-key, data in [^)]+/data%%)"):format(port), banner)
    local url = "http://127.0.0.1:" .. port
    local c = support.client({ server_url = url, api_key = "local-test-key", retry = false })
    local f = assert(c.files.upload{ file = { file_name = "kept.txt", content = "kept" } })
    c:close()
    assert.is_true(interrupt(pid), "make server still runs after Ctrl-C")
    local gone = support.client({ server_url = url, api_key = "local-test-key", retry = false })
    assert.is_nil(gone.files.list(), "still answering after Ctrl-C")
    gone:close()
    pid = start(port)
    wait_for("export MISTRAL_SERVER_URL")
    local again = support.client({ server_url = url, api_key = "local-test-key", retry = false })
    assert.same("kept", assert(again.files.download(f.id)))
    again:close()
    assert.is_true(interrupt(pid))
  end)

  it("on a port already taken: one line saying so, a failed status, no URL", function()
    local port = tonumber(support.url:match(":(%d+)$"))  -- the suite's own server holds it
    local status = support.sh(("cd '%s' && %s %s make --no-print-directory -s server PORT=%d 2> '%s/err.log'; echo $?")
      :format(support.sh("pwd"):gsub("%s+$", ""), as, env, port, work))
    assert.same("2\n", status)  -- make's own status for a failed recipe; the command's was 1
    local log = support.read(work .. "/err.log")
    assert.matches(("^mistralai local server: port %d is taken\n"):format(port), log)
    assert.is_nil(log:find("MISTRAL_SERVER_URL"), log)
  end)
end)
