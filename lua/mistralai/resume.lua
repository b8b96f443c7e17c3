--- Resumed downloads: when a download fails mid-way and is tried again, the new attempt asks
--- for the rest only (Range: bytes=N-). The core checks the answer: a 206 whose Content-Range
--- starts at N continues the bytes had so far; a 200 starts the body over, which an output file
--- or a string can take but not a sink (nor a FIFO or a device given as the output) that
--- already has the first bytes ("resume_refused").
--- No byte is handed twice to a sink; the output's temporary file is kept between attempts.

local M = {}

local Resume = {}
Resume.__index = Resume

--- The state of one download call (spec.resumable: output, sink or string), or nil.
function M.new(spec)
  if not spec.resumable then return nil end
  return setmetatable({ bytes = 0, body = nil, file = nil, output = spec.output, sink = spec.sink }, Resume)
end

--- Sets the attempt's request; returns the Range header line to send, or nil.
function Resume:prepare(req)
  req.resume_from = self.bytes > 0 and self.bytes or nil
  req.partial = self.file
  return self.bytes > 0 and ("Range: bytes=%d-"):format(self.bytes) or nil
end

local function range_start(res)
  local range = res.headers["content-range"]
  return range and tonumber(range:match("^%s*bytes%s+(%d+)%-"))
end

--- After a failed attempt, before its transfer t is closed: keeps what it got of a 2xx body.
--- Returns true when the next attempt should start over at once (the server refused to resume
--- where an output file or a string can take the whole body again).
function Resume:failed(t, res)
  local name = res.error and res.error.name
  local start_over = (res.status == 416 and self.bytes > 0) or name == "resume_refused"
  if self.output and not res.direct then
    self.file = t:keep_partial() or self.file
    if start_over then self.bytes = 0
    elseif res.status >= 200 and res.status < 300 then
      self.bytes = (res.restarted and 0 or self.bytes) + res.delivered
    end
    return start_over
  end
  if self.sink or res.direct then  -- what a sink (or a FIFO, a device) got stays given
    if res.status >= 200 and res.status < 300 then self.bytes = self.bytes + res.delivered end
    return false
  end
  -- a string: the core keeps the body; a 206 that does not continue it means starting over
  if res.status == 206 and range_start(res) ~= self.bytes then start_over = true end
  if start_over then
    self.bytes, self.body = 0, nil
  elseif res.status == 200 or res.status == 206 then
    self.body = (res.status == 200 and "" or (self.body or "")) .. (res.body or "")
    self.bytes = #self.body
  end
  return start_over
end

--- On success: a string body resumed is the bytes had so far and the rest.
function Resume:succeeded(res)
  if self.body and res.body then
    if res.status == 206 and range_start(res) == #self.body then res.body = self.body .. res.body end
  end
  self.file = nil  -- committed
end

--- When the call fails for good: the kept temporary file goes.
function Resume:abandon()
  if self.file then os.remove(self.file) end
  self.file = nil
end

return M
