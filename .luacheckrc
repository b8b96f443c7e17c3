std = "max"
max_line_length = 120
-- Specs keep one case per line in their tables of cases.
files["spec"] = { std = "+busted", max_line_length = false }
files["lua/mistralai/server"] = { globals = { "ngx" } }
files["lua/mistralai/nvim.lua"] = { read_globals = { "vim" } }
files["lua/mistralai/json.lua"] = { read_globals = { "vim" } }
files["build.lua"] = { read_globals = { "vim" } }
files["spec/hosts/nvim.lua"] = { read_globals = { "vim" } }
files["spec/hosts/nvim_wait.lua"] = { read_globals = { "vim" } }
files["spec/hosts/nvim_plugin.lua"] = { read_globals = { "vim" } }
files["spec/hosts/resty.lua"] = { read_globals = { "ngx" } }
files["lua/mistralai/resty.lua"] = { read_globals = { "ngx" } }
-- Declarations for LuaLS only: empty functions and long type lines are its form.
files["types/mistralai.lua"] = { ignore = { "211", "212", "241", "631" } }
-- The benchmark driver's lines are report rows and shell commands.
files["bench"] = { max_line_length = 200 }
