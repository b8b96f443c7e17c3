--- What mistralai.resty's pump runs in a worker thread of nginx's pool (ngx.run_worker_thread,
--- in that thread's own Lua state): a wait in poll() on the descriptors libcurl waits on, for at
--- most ms milliseconds, or until the pump's waker is written to. Returns the ready descriptors
--- and whether the waker woke it.
local M = {}

function M.wait(fds, ms, wake_fd)
  return require("mistralai.core").poll(fds, ms, wake_fd)
end

return M
