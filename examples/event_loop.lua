-- A client on a luv (libuv) event loop: the loop watches the sockets libcurl waits on and
-- libcurl's timer, and wakes the client's driver only when one of them is ready. Any loop that
-- can "watch this descriptor" and "call me in N ms" is hosted the same way (cqueues, copas, a
-- game engine's frame loop).
local uv = require("luv")
local client = require("mistralai").new{}  -- MISTRAL_API_KEY, MISTRAL_SERVER_URL from the environment
local driver = client:driver()

local polls, timer = {}, uv.new_timer()

-- Makes the loop watch what libcurl waits on now. A descriptor whose wish changed (other
-- events, or a new socket behind the same number) gets a new poll handle.
local function sync()
  local fds, due = driver.watching()
  for fd, p in pairs(polls) do
    if fds[fd] ~= p.want then
      p.handle:stop()
      p.handle:close()
      polls[fd] = nil
    end
  end
  for fd, want in pairs(fds) do
    local events = want:match("^(%a+):")  -- "r", "w" or "rw"; nothing: not now
    if events and not polls[fd] then
      local handle = uv.new_socket_poll(fd)
      polls[fd] = { handle = handle, want = want }
      handle:start(events, function(err, ready)
        driver.ready(fd, err and "rw" or ready)
        sync()
      end)
    end
  end
  timer:stop()
  if due then
    timer:start(math.max(1, math.ceil(due * 1000)), 0, function()
      driver.step()
      sync()
    end)
  end
end

-- Operations run as tasks: inside one, each call yields to the loop while it waits.
for i = 1, 3 do
  driver.spawn(function()
    local f = assert(client.files.upload{ file = { file_name = ("loop-%d.jsonl"):format(i), content = '{"n":1}\n' } })
    assert(client.files.delete(f.id))
    return f.filename
  end, function(ok, result)
    print(ok and ("uploaded and deleted " .. result[1]) or ("failed: " .. tostring(result)))
  end)
end
driver.step()  -- the tasks' first steps: the uploads start
sync()
uv.run()       -- returns once nothing is watched and no timer is set: every task has ended
client:close()
