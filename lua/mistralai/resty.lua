--- mistralai for OpenResty (and nginx with lua-nginx-module): the same options, operations
--- and results as mistralai.new, but inside a request handler or a timer every wait yields to
--- nginx (ngx.sleep between steps of the transfers), so the worker goes on serving other
--- requests while a transfer runs. The client makes nothing until its first call, so one
--- may be created at module level; connections are per worker.
---   local client = require("mistralai.resty").new{ api_key = os.getenv("MISTRAL_API_KEY") }
local check = require("mistralai.check")

local M = {}

function M.new(opts)
  opts = opts or {}
  check.arg("new", 1, opts, "table")
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  if o.sleep == nil then o.sleep = ngx.sleep end
  return require("mistralai").new(o)
end

return M
