--- Cancel handles: `local c = mistralai.cancel_handle()`, given to any number of operations as
--- the call option `cancel`; `c:cancel()` ends each of them with kind "aborted", whichever way
--- it waits (a task in gather, the sleep mode, an event loop, OpenResty), and stops those not
--- started yet before they send anything. Their transfers are freed; no `.part` file stays.
local M = {}

local Handle = {}
Handle.__index = Handle

function Handle:__tostring()
  return "mistralai cancel handle (" .. (self.cancelled and "cancelled" or "live") .. ")"
end

--- A new handle: { cancelled = false, cancel = function }. cancel may be called as c:cancel()
--- or c.cancel(), from anywhere, a progress or sink callback included; it is idempotent.
function M.new()
  local h = setmetatable({ cancelled = false, transfers = setmetatable({}, { __mode = "k" }),
    wakers = setmetatable({}, { __mode = "k" }) }, Handle)
  h.cancel = function()
    if h.cancelled then return end
    h.cancelled = true
    for t in pairs(h.transfers) do t:cancel() end
    -- a host whose driver may be asleep (OpenResty's pump) has it look again
    for waker in pairs(h.wakers) do waker:wake() end
  end
  return h
end

function M.is_handle(v)
  return getmetatable(v) == Handle
end

return M
