--- A streaming multipart/form-data reader over nginx's request socket (runs inside nginx).
--- The body is never held whole: parts arrive as chunks found by nginx's own boundary search.
local M = {}

local CHUNK = 256 * 1024

--- The boundary of a Content-Type header value, or nil.
function M.boundary(content_type)
  if not content_type or not content_type:lower():find("^%s*multipart/form%-data") then return nil end
  return content_type:match('[;%s]boundary="([^"]+)"') or content_type:match("[;%s]boundary=([^;%s]+)")
end

-- Browsers (and libcurl) percent-escape '"', CR and LF in multipart names; undo just those.
local html5_escapes = { ["%22"] = '"', ["%0D"] = "\r", ["%0A"] = "\n" }
local function unescape(s)
  return (s:gsub("%%[02][2DA]", function(e) return html5_escapes[e:upper()] end))
end

local function disposition(value)
  local name = value:match(';%s*name="([^"]*)"')
  local filename = value:match(';%s*filename="([^"]*)"')
  return name and unescape(name), filename and unescape(filename)
end

--- Reads the body part by part: on_part(headers) returns a function called with each chunk
--- of that part's body and then with nil at its end. Returns true, or nil and a message.
function M.read(sock, boundary, on_part)
  local read_line = sock:receiveuntil("\r\n")
  local preamble = sock:receiveuntil("--" .. boundary)
  -- Everything before the first boundary is ignored.
  while true do
    local chunk, err = preamble(CHUNK)
    if err then return nil, "reading the preamble: " .. err end
    if not chunk then break end
  end
  local to_boundary = sock:receiveuntil("\r\n--" .. boundary)
  while true do
    local tail, err = sock:receive(2)
    if not tail then return nil, "reading a boundary: " .. err end
    if tail == "--" then return true end
    if tail ~= "\r\n" then return nil, "malformed boundary line" end
    local headers = {}
    while true do
      local line, lerr = read_line()
      if not line then return nil, "reading part headers: " .. lerr end
      if line == "" then break end
      local k, v = line:match("^([^:]+):%s*(.-)%s*$")
      if k then headers[k:lower()] = v end
    end
    headers.name, headers.filename = disposition(headers["content-disposition"] or "")
    local consume = on_part(headers)
    while true do
      local chunk, cerr = to_boundary(CHUNK)
      if cerr then consume(nil, cerr) return nil, "reading a part: " .. cerr end
      if not chunk then break end
      local ok, why = consume(chunk)
      if not ok then return nil, why end
    end
    local ok, why = consume(nil)
    if not ok then return nil, why end
  end
end

return M
