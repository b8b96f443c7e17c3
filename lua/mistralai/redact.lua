--- What the client may show of a request: credentials hidden. Used by the `debug` lines and by
--- tostring(client); a secret is never printed, whatever the case of its header's name.
local M = {}

-- Header names (lower case) whose values are credentials, sent or received.
local SECRET = { authorization = true, ["proxy-authorization"] = true, cookie = true, ["set-cookie"] = true,
  ["x-api-key"] = true, ["api-key"] = true }

--- "Name: value" with the value replaced when the header carries a credential.
function M.header_line(line)
  local name = line:match("^([^:]+):")
  if name and SECRET[name:lower()] then return name .. ": [redacted]" end
  return line
end

--- A URL without the user and password it may carry (http://user:pass@host/ → http://[redacted]@host/).
function M.url(url)
  return (url:gsub("^(%a[%w+.-]*://)[^/?#]*@", "%1[redacted]@"))
end

return M
