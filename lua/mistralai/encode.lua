--- Encoding of what goes on the wire: percent-encoding, query strings, header lines, and the
--- file part's name and content type. Pure functions, no I/O.
local M = {}

local format, byte = string.format, string.byte

local function percent(c) return format("%%%02X", byte(c)) end

--- Percent-encodes s as JavaScript's encodeURIComponent does (the official TypeScript SDK's
--- choice for paths and queries): only A-Z a-z 0-9 - _ . ! ~ * ' ( ) stay as they are.
function M.component(s)
  return (s:gsub("[^%w%-_%.!~%*'%(%)]", percent))
end

--- Percent-encodes one path segment. Beyond encodeURIComponent, a segment that is "." or ".."
--- has its dots encoded: left as they are, they would be read as "here" and "up one level"
--- and lead to another endpoint.
function M.segment(s)
  if s == "." or s == ".." then return (s:gsub("%.", "%%2E")) end
  return M.component(s)
end

--- Builds "k=v&k=v" from a list of {key, value} pairs, in the order given.
function M.query(pairs_list)
  local out = {}
  for i, kv in ipairs(pairs_list) do
    out[i] = M.component(kv[1]) .. "=" .. M.component(kv[2])
  end
  return table.concat(out, "&")
end

--- The last component of a path, for the multipart file name.
function M.basename(path)
  return path:match("([^/\\]+)[/\\]*$") or path
end

-- The official TypeScript SDK's table (src/lib/files.ts getContentTypeFromFileName); anything
-- else, .jsonl included, is sent as application/octet-stream as it does.
local content_types = {
  json = "application/json", xml = "application/xml", html = "text/html", htm = "text/html",
  txt = "text/plain", csv = "text/csv", pdf = "application/pdf", png = "image/png",
  jpg = "image/jpeg", jpeg = "image/jpeg", gif = "image/gif", svg = "image/svg+xml",
  js = "application/javascript", css = "text/css", zip = "application/zip",
  tar = "application/x-tar", gz = "application/gzip", mp4 = "video/mp4", mp3 = "audio/mpeg",
  wav = "audio/wav", webp = "image/webp", ico = "image/x-icon", woff = "font/woff",
  woff2 = "font/woff2", ttf = "font/ttf", otf = "font/otf",
}

function M.content_type(file_name)
  local ext = file_name:lower():match("%.([^.]*)$")
  return content_types[ext] or "application/octet-stream"
end

--- Is name a valid header field name (an RFC 9110 token)?
function M.is_header_name(name)
  return name:find("^[%w!#%$%%&'%*%+%-%.%^_`|~]+$") ~= nil
end

return M
