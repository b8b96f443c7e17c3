-- mistral-files on a real terminal (tmux): the progress bar draws, redraws in place, and
-- finishes at 100%.
local support = require("support")

describe("mistral-files on a terminal", function()
  -- Starts command (shell text) in a new tmux session of 160x12. The text goes through a
  -- script file: quoted into tmux's argument, its $? would be the outer shell's.
  local function tmux_run(session, command, columns)
    local script = support.write(support.tmpdir() .. "/run.sh", command .. "\n")
    support.sh(("tmux new-session -d -s %s -x %d -y 12 'sh %s'"):format(session, columns or 160, script))
  end

  it("draws a progress bar while downloading and finishes it", function()
    local dir = support.tmpdir()
    local root = support.sh("pwd"):gsub("%s+$", "")
    local lua = os.getenv("MISTRALAI_TEST_LUA") or "lua5.4"
    local c = support.client()
    local f = assert(c.files.upload{ file = { file_name = "tty.bin", content = ("t"):rep(3 * 1024 * 1024) } })
    c:close()
    support.reset()
    support.fault{ kind = "trickle", rate = 1024 * 1024, method = "GET", path = "/v1/files/" .. f.id .. "/content" }
    local session = "mistralai-" .. os.time() .. "-" .. math.random(1e6)
    local command = ("cd '%s' && env LUA_PATH='%s/lua/?.lua;%s/lua/?/init.lua;;' LUA_CPATH='%s/build/%s/?.so;;' "
      .. "MISTRAL_SERVER_URL='%s' MISTRAL_API_KEY='%s' %s '%s/bin/mistral-files' download %s -o out.bin; "
      .. "echo EXIT=$?; sleep 60"):format(dir, root, root, root, lua, support.url, support.api_key, lua, root, f.id)
    tmux_run(session, command)
    local function screen() return support.sh("tmux capture-pane -p -t " .. session) end
    local partial, final
    for _ = 1, 3000 do  -- read the screen until the command has finished (bounded)
      local text = screen()
      partial = partial or text:match("download out%.bin %[#*%.+%]%s+%d+%% [^\n]*")
      if text:find("EXIT=%d") then
        final = text
        break
      end
    end
    support.sh("tmux kill-session -t " .. session)
    assert.is_string(final, "the command did not finish")
    assert.is_string(partial, "no partial bar was seen:\n" .. final)
    assert.matches("ETA %d+s", partial)
    assert.matches("download out%.bin %[########################%] 100%% 3%.0 MiB / 3%.0 MiB [%d.]+ [KM]i?B/s ETA 0s", final)
    assert.matches("\nout%.bin\n", final)
    assert.matches("EXIT=0", final)
    -- redrawn in place: one bar line on the screen, not one per update
    assert.same(1, select(2, final:gsub("download out%.bin %[", "")))
    assert.same(3 * 1024 * 1024, #support.read(dir .. "/out.bin"))

    -- --quiet, or stdout not a terminal: the same download on the same terminal draws nothing
    local function screen_of(variant, name)
      tmux_run(session .. "-" .. name, variant)
      local text
      for _ = 1, 3000 do
        text = support.sh(("tmux capture-pane -p -t %s-%s"):format(session, name))
        if text:find("EXIT=%d") then break end
      end
      support.sh(("tmux kill-session -t %s-%s"):format(session, name))
      return text
    end
    local quiet = screen_of(command:gsub(" download ", " --quiet download "):gsub("out%.bin", "quiet.bin"), "q")
    assert.matches("quiet%.bin\nEXIT=0", quiet)
    assert.is_false(support.has(quiet, "["))
    local piped = screen_of(command:gsub("out%.bin;", "piped.bin > printed.txt;"), "p")
    assert.matches("EXIT=0", piped)
    assert.is_false(support.has(piped, "["))
    assert.same("piped.bin\n", support.read(dir .. "/printed.txt"))
  end)
  it("Ctrl-C clears the progress line, says so and exits 130, leaving no temporary file", function()
    local dir = support.tmpdir()
    local root = support.sh("pwd"):gsub("%s+$", "")
    local lua = os.getenv("MISTRALAI_TEST_LUA") or "lua5.4"
    local c = support.client()
    local f = assert(c.files.upload{ file = { file_name = "int.bin", content = ("i"):rep(8 * 1024 * 1024) } })
    c:close()
    support.reset()
    support.fault{ kind = "trickle", rate = 512 * 1024, method = "GET", path = "/v1/files/" .. f.id .. "/content" }
    local session = "mistralai-int-" .. os.time() .. "-" .. math.random(1e6)
    -- the shell around it ignores Ctrl-C (as an interactive one does) and reports the exit status
    local command = ("trap '' INT; cd '%s' && env LUA_PATH='%s/lua/?.lua;%s/lua/?/init.lua;;' LUA_CPATH='%s/build/%s/?.so;;' "
      .. "MISTRAL_SERVER_URL='%s' MISTRAL_API_KEY='%s' %s '%s/bin/mistral-files' download %s -o int.bin; "
      .. "echo EXIT=$?; sleep 60"):format(dir, root, root, root, lua, support.url, support.api_key, lua, root, f.id)
    tmux_run(session, command)
    local function screen() return support.sh("tmux capture-pane -p -t " .. session) end
    local drawn = false
    for _ = 1, 3000 do  -- until the bar shows (bounded)
      if screen():find("download int%.bin %[") then drawn = true break end
    end
    support.sh("tmux send-keys -t " .. session .. " C-c")
    local final
    for _ = 1, 3000 do
      local text = screen()
      if text:find("EXIT=%d") then final = text break end
    end
    support.sh("tmux kill-session -t " .. session)
    assert.is_true(drawn, "no bar was drawn")
    assert.is_string(final, "the command did not finish")
    assert.matches("\nmistral%-files: interrupted\nEXIT=130", "\n" .. final)
    assert.is_false(support.has(final, "download int.bin ["), final)  -- the bar line was cleared
    assert.same({}, support.ls(dir))
  end)
  it("the bar fits the terminal at 40, 60 and 120 columns, never wraps; download -o - draws it too", function()
    local dir = support.tmpdir()
    local root = support.sh("pwd"):gsub("%s+$", "")
    local lua = os.getenv("MISTRALAI_TEST_LUA") or "lua5.4"
    local c = support.client()
    local f = assert(c.files.upload{ file = { file_name = "wide.bin", content = ("w"):rep(2 * 1024 * 1024) } })
    c:close()
    local env = ("env LUA_PATH='%s/lua/?.lua;%s/lua/?/init.lua;;' LUA_CPATH='%s/build/%s/?.so;;' "
      .. "MISTRAL_SERVER_URL='%s' MISTRAL_API_KEY='%s' %s '%s/bin/mistral-files'")
      :format(root, root, root, lua, support.url, support.api_key, lua, root)
    local function final_screen(columns, args)
      support.reset()
      support.fault{ kind = "trickle", rate = 2 * 1024 * 1024, method = "GET", path = "/v1/files/" .. f.id .. "/content" }
      local session = ("mistralai-w%d-%d-%d"):format(columns, os.time(), math.random(1e6))
      tmux_run(session, ("cd '%s' && %s %s; echo EXIT=$?; sleep 60"):format(dir, env, args), columns)
      local text
      for _ = 1, 3000 do
        text = support.sh("tmux capture-pane -p -t " .. session)
        if text:find("EXIT=%d") then break end
      end
      support.sh("tmux kill-session -t " .. session)
      return text
    end
    local name = "a-long-output-name-to-fit-.bin"  -- 30: its bar line must shorten at 40 columns
    for _, columns in ipairs({ 40, 60, 120 }) do
      local text = final_screen(columns, "download " .. f.id .. " --force -o " .. name)
      assert.matches("EXIT=0", text)
      local bar = text:match("(download [^\n]*100%%[^\n]*)\n")  -- the whole bar on one line
      assert.is_string(bar, columns .. " columns:\n" .. text)
      assert.is_true(#bar < columns, ("%d columns: a bar of %d: %s"):format(columns, #bar, bar))
      assert.matches("\n" .. name:gsub("%p", "%%%0") .. "\n", text)  -- the next line, not a wrapped rest
    end
    local piped = final_screen(80, "download " .. f.id .. " -o - > piped.bin")
    assert.matches("download " .. f.id:gsub("%p", "%%%0") .. " %[#+%] 100%%", piped)
    assert.same(2 * 1024 * 1024, #support.read(dir .. "/piped.bin"))
  end)
  it("several downloads side by side: a line each while they run, and a total line", function()
    local dir = support.tmpdir()
    local root = support.sh("pwd"):gsub("%s+$", "")
    local lua = os.getenv("MISTRALAI_TEST_LUA") or "lua5.4"
    local c = support.client()
    local ids = {}
    for i = 1, 3 do
      ids[i] = assert(c.files.upload{ file = { file_name = "side" .. i .. ".bin", content = ("s"):rep(1024 * 1024) } }).id
    end
    c:close()
    support.reset()
    for _, id in ipairs(ids) do
      support.fault{ kind = "trickle", rate = 512 * 1024, method = "GET", path = "/v1/files/" .. id .. "/content" }
    end
    local session = "mistralai-board-" .. os.time() .. "-" .. math.random(1e6)
    tmux_run(session, ("cd '%s' && env LUA_PATH='%s/lua/?.lua;%s/lua/?/init.lua;;' LUA_CPATH='%s/build/%s/?.so;;' "
      .. "MISTRAL_SERVER_URL='%s' MISTRAL_API_KEY='%s' %s '%s/bin/mistral-files' download %s -j 3; echo EXIT=$?; sleep 60")
      :format(dir, root, root, root, lua, support.url, support.api_key, lua, root, table.concat(ids, " ")))
    local during, final
    for _ = 1, 3000 do
      local text = support.sh("tmux capture-pane -p -t " .. session)
      if not during and select(2, text:gsub("download [%x-]+ %[", "")) == 3 and text:find("0/3 files") then
        during = text
      end
      if text:find("EXIT=%d") then final = text break end
    end
    support.sh("tmux kill-session -t " .. session)
    assert.is_string(during, "never three lines and a total:\n" .. tostring(final))
    assert.matches("3/3 files %[#+%] 100%% 3%.0 MiB / 3%.0 MiB", final)
    assert.is_nil(final:find("download [%x-]+ %["), final)  -- ended lines go, the total stays
    assert.matches("side1%.bin\nside2%.bin\nside3%.bin\nEXIT=0", final)
  end)
end)
