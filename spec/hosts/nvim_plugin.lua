-- Runs inside headless Neovim from a plugin layout (spec/12-hosts_spec.lua): the plugin as a
-- user installed it, with nothing but the recipe's steps. Uploads, lists and downloads through
-- mistralai.nvim, then writes "key value" lines to MISTRALAI_OUT.
local out = assert(io.open(os.getenv("MISTRALAI_OUT"), "w"))
local function report(k, v) out:write(k, " ", tostring(v), "\n") end
local client = require("mistralai.nvim").new{
  server_url = os.getenv("MISTRAL_SERVER_URL"), api_key = os.getenv("MISTRAL_API_KEY") }
local done = false
client.files.upload({ file = { file_name = "plugin.txt", content = "from a plugin" } }, function(f, err)
  report("upload", f and f.bytes or tostring(err))
  client.files.list({ search = "plugin.txt" }, function(page, lerr)
    report("listed", page and #page.data > 0 or tostring(lerr))
    client.files.download(f.id, function(body, derr)
      report("downloaded", body or tostring(derr))
      done = true
    end)
  end)
end)
vim.wait(20000, function() return done end, 10)
report("cjson_loaded", package.loaded["cjson.safe"] ~= nil or package.loaded.cjson ~= nil)
client.close()
out:close()
