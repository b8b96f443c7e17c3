--- A throwaway CA and a certificate for 127.0.0.1, for the local server's TLS (the HTTPS specs
--- and `make bench`), made with the openssl program:
---   local pki = require("mistralai.server.pki").make(dir, "test")
---   require("mistralai.server").start{ tls = { cert = pki.cert, key = pki.key } }
---   require("mistralai").new{ server_url = server.url, ca_file = pki.ca }
local M = {}

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

--- Makes, in the folder dir, a CA (key and self-signed certificate), then a server key and a
--- certificate for 127.0.0.1 signed by that CA, valid two days; EC P-256 keys, as most HTTPS
--- servers use now. name prefixes the files, so one folder can hold several CAs. Returns
--- { ca = path, cert = path, key = path } (PEM); raises with openssl's output when the
--- certificate does not verify against the CA.
function M.make(dir, name)
  local key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
  local p = dir .. "/" .. name
  write(p .. "-ca.cnf", table.concat({
    "[req]", "distinguished_name = dn", "x509_extensions = ca", "prompt = no",
    "[dn]", "CN = mistralai throwaway " .. name .. " CA",
    "[ca]", "basicConstraints = critical, CA:TRUE", "keyUsage = critical, keyCertSign, cRLSign",
    "subjectKeyIdentifier = hash", "" }, "\n"))
  write(p .. "-server.ext", table.concat({
    "basicConstraints = CA:FALSE", "keyUsage = critical, digitalSignature", "extendedKeyUsage = serverAuth",
    "subjectAltName = IP:127.0.0.1", "" }, "\n"))
  local proc = assert(io.popen(table.concat({
    ("openssl req -x509 %s -days 2 -config %s -keyout %s -out %s"):format(key, quote(p .. "-ca.cnf"),
      quote(p .. "-ca.key"), quote(p .. "-ca.pem")),
    ("openssl req -new %s -subj /CN=127.0.0.1 -keyout %s -out %s"):format(key, quote(p .. "-server.key"),
      quote(p .. "-server.csr")),
    ("openssl x509 -req -days 2 -in %s -CA %s -CAkey %s -CAcreateserial -extfile %s -out %s"):format(
      quote(p .. "-server.csr"), quote(p .. "-ca.pem"), quote(p .. "-ca.key"), quote(p .. "-server.ext"),
      quote(p .. "-server.pem")),
    ("openssl verify -CAfile %s %s"):format(quote(p .. "-ca.pem"), quote(p .. "-server.pem")),
  }, " 2>&1 && ") .. " 2>&1"))
  local out = proc:read("*a")
  proc:close()
  if not out:find("-server.pem: OK", 1, true) then
    error("openssl could not make a CA and a certificate for 127.0.0.1 in " .. dir .. ":\n" .. out, 2)
  end
  return { ca = p .. "-ca.pem", cert = p .. "-server.pem", key = p .. "-server.key" }
end

return M
