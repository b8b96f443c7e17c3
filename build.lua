-- lazy.nvim runs this file after it clones or updates the plugin: it builds the core for
-- Neovim's LuaJIT into lua/mistralai/core.so, where require("mistralai.core") finds it on the
-- runtimepath. (packer: run = "make nvim"; pack/*/start: make nvim by hand.)
local dir = debug.getinfo(1, "S").source:match("^@(.*)[/\\]build%.lua$") or "."
local out = vim.fn.system({ "make", "-C", dir, "nvim" })
if vim.v.shell_error ~= 0 then error("mistralai: make nvim failed:\n" .. out, 0) end
