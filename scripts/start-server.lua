-- Starts the local server in the background and prints shell assignments for it:
--   eval "$(lua5.4 scripts/start-server.lua [--control])"
-- --control enables the test-only endpoints under /_local/ (echo, clock).
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
local server = require("mistralai.server").start({ control = arg[1] == "--control" })
print(("SERVER_URL=%s; SERVER_API_KEY=%s; SERVER_PID=%d; SERVER_PREFIX=%s")
  :format(server.url, server.api_key, server.pid, server.prefix))
