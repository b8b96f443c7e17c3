--- Download streams: the body of a 2xx answer, read chunk by chunk at the reader's pace. While a
--- chunk waits for its reader the transfer is paused (libcurl stops reading the socket, so the
--- sender is held back by TCP), so memory stays at about one chunk however slow the reader. A
--- transfer that fails mid-way is resumed where the reader is, if the server can (a 206).
---
---   local s = assert(client.files.download(id, { stream = true }))
---   for chunk in s do out:write(chunk) end   -- or: local chunk, err = s:read()
local M = {}

local Stream = {}
Stream.__index = Stream

--- A stream over transfer t, whose head has arrived. await(t) waits until t:ready() (blocking,
--- or yielding inside a task); failure(res) is the call's error for a finished transfer;
--- rest(res, delivered), for a transfer that failed mid-way, asks for the bytes from delivered
--- on as a retry would (Range: bytes=N-) and returns that call's result, or nil when the
--- failure is not to be retried, or nil, err.
function M.new(t, await, failure, response, rest)
  return setmetatable({ t = t, await = await, failure = failure, rest = rest, delivered = 0,
    status = response.status, headers = response.headers }, Stream)
end

--- The next chunk (a non-empty string); nil at the end; nil, err when the transfer failed
--- mid-way. Blocks in a script, yields inside a task. After the end or an error, the same.
function Stream:read()
  while not self.finished do
    local t = self.t
    local chunk = t:read()
    if chunk then
      self.delivered = self.delivered + #chunk
      return chunk
    end
    if t:done() then
      local res = t:result()
      local err = self.failure(res)
      local again, why
      if err and self.rest then again, why = self.rest(res, self.delivered) end
      t:close()
      if again then  -- the rest, on a new transfer: the stream goes on from there
        self.t, again.stream.t = again.stream.t, t
      else
        self.err = why or err
        self.finished = true
      end
    else
      self.await(t)
    end
  end
  return nil, self.err
end

--- Stops the transfer (if it still runs) and frees it. Idempotent.
function Stream:close()
  self.finished = true
  self.t:close()
end

Stream.__close = Stream.close

--- `for chunk in stream do ... end`: as io.lines does, a failure mid-way raises the error.
function Stream:__call()
  local chunk, err = self:read()
  if err then error(err, 2) end
  return chunk
end

function Stream:__tostring()
  return "mistralai download stream (" .. (self.finished and "closed" or "open") .. ")"
end

return M
