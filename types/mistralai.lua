---@meta
-- LuaLS annotations of the public API: editors read this file to complete and check calls.
-- It is never required at run time: it ships outside the Lua path (types/), for LuaLS's
-- workspace.library. spec/16-annotations_spec.lua compares it with the real
-- modules, functions and options.

---@class mistralai
---@field _VERSION string The rock's version.
---@field defaults { client: table<string, integer>, retry: mistralai.Retry } The defaults, to read.
local mistralai = {}

---Creates a client. Every option is optional.
---@param options? mistralai.ClientOptions
---@return mistralai.Client
function mistralai.new(options) end

---Is v an error value returned by this library?
---@param v any
---@return boolean
function mistralai.is_error(v) end

---A handle that cancels every operation given it as option `cancel`.
---@return mistralai.CancelHandle
function mistralai.cancel_handle() end

---@class mistralai.CancelHandle
---@field cancelled boolean Whether cancel was called.
---@field cancel fun(self?: mistralai.CancelHandle) Ends its operations with kind "aborted" (c:cancel() or c.cancel()); idempotent.

---@class mistralai.ClientOptions
---@field api_key? string|fun():string The key, or a function returning it, called per request (default $MISTRAL_API_KEY).
---@field server_url? string The host root (default $MISTRAL_SERVER_URL or https://api.mistral.ai).
---@field timeout_ms? integer Bounds each whole call, retries included.
---@field headers? table<string, string> Extra headers on every request.
---@field retry? mistralai.Retry|false The retry policy, or false.
---@field connect_timeout_ms? integer Time to connect (default 10000).
---@field stall_bytes_per_s? integer With stall_timeout_ms: slower than this is a stall (default 1024).
---@field stall_timeout_ms? integer How long a stall may last (default 30000).
---@field max_response_bytes? integer The most of a JSON answer or error body kept in memory (4 MiB).
---@field max_send_bytes_per_s? integer Caps each transfer's upload rate (bytes a second).
---@field max_recv_bytes_per_s? integer Caps each transfer's download rate (bytes a second).
---@field max_upload_bytes? integer Uploads over this are refused before sending (default 512 MiB).
---@field max_redirects? integer Redirects followed (default 5).
---@field debug? fun(line: string) One line per request and response, Authorization redacted.
---@field on_retry? fun(info: { attempt: integer, wait: number, error: mistralai.Error, method: string, url: string }) Before each wait between attempts.
---@field sleep? fun(seconds: number) Yields to your event loop between steps: the client never blocks.
---@field ca_file? string Trust anchors for HTTPS (a PEM file).
---@field ca_path? string Trust anchors for HTTPS (a hashed folder).
---@field proxy? string A proxy URL.
---@field no_proxy? string Hosts reached without the proxy.

---@class mistralai.Retry
---@field initial_interval? number ms (500)
---@field max_interval? number ms (60000), caps every wait, Retry-After included
---@field exponent? number (1.5)
---@field max_elapsed_time? number ms (60000): no new attempt after this
---@field retry_connection_errors? boolean (true)
---@field status_codes? integer[] ({ 429, 500, 502, 503, 504 })
---@field retry_uploads? boolean (false): also retry uploads the server may have stored
---@field jitter? number ms (1000): added at random to each computed wait

---@class mistralai.Client
---@field files mistralai.Files The Files API operations.
---@field server_url string The normalised host root.
local Client = {}

---Frees the connections. Idempotent.
function Client:close() end

---Runs the functions at once, each in a task in which every operation of this client yields
---while it waits. results[i] = table.pack(fns[i]()); a raise gives { nil, err, n = 2 }.
---@param fns (fun(): ...)[]
---@param options? { concurrency?: integer }
---@return table[] results
function Client:gather(fns, options) end

---The client's driver, for hosts that run it on an event loop of their own (docs/hosts.md).
---@return mistralai.Driver
function Client:driver() end

---@class mistralai.Driver
---@field spawn fun(fn: fun(): ..., on_done: fun(ok: boolean, result: any)): mistralai.Task Runs fn as a task; its operations yield instead of blocking.
---@field step fun(): integer, number? Moves the transfers without blocking and resumes the tasks that can go on: tasks left, seconds until one wants the clock.
---@field cancel fun(task: mistralai.Task, err: any) Stops a task; its transfer is freed, on_done gets (false, err).

---@class mistralai.Task

---@class mistralai.CallOptions
---@field timeout_ms? integer Bounds this call, retries included.
---@field headers? table<string, string> Extra headers, replacing the client's of the same name.
---@field retry? mistralai.Retry|false Merged over the client's policy; false: no retry.
---@field cancel? mistralai.CancelHandle Ends the call with kind "aborted" when cancelled.
---@field max_response_bytes? integer The most of the answer kept in memory, over the client's.
---@field max_send_bytes_per_s? integer Caps this call's upload rate, over the client's.
---@field max_recv_bytes_per_s? integer Caps this call's download rate, over the client's.

---@class mistralai.FileContent
---@field file_name string
---@field content? string The bytes in memory; or reader and size.
---@field reader? fun(): string? Gives the next piece, nil at the end; may yield in a task.
---@field size? integer The reader's total bytes (required with reader).
---@field rewind? fun() Makes reader start over, so a failed attempt may be retried.
---@field content_type? string

---@class mistralai.UploadOptions: mistralai.CallOptions
---@field file string|mistralai.FileContent A path (streamed from disk) or content in memory.
---@field purpose? string "fine-tune", "batch", "ocr" (sent as given).
---@field expiry? integer Hours until the file expires.
---@field visibility? string "workspace" (default) or "user".
---@field file_name? string The name to store.
---@field content_type? string The file part's Content-Type.
---@field progress? fun(done: integer, total: integer) Bytes of the file sent so far.
---@field validate? boolean Check the file is valid for the upload's purpose (docs/formats.md) before sending it.

---@class mistralai.ListOptions: mistralai.CallOptions
---@field page? integer 0-based (default 0).
---@field page_size? integer (default 100)
---@field include_total? boolean (default true)
---@field sample_type? string|string[]
---@field source? string|string[]
---@field search? string
---@field purpose? string
---@field mimetypes? string|string[]

---@class mistralai.IdOptions: mistralai.CallOptions
---@field file_id? string When the options table is the only argument.

---@class mistralai.DownloadOptions: mistralai.IdOptions
---@field output? string A path, written atomically.
---@field fsync? boolean With output: sync the data and the folder around the rename.
---@field overwrite? boolean With output: false never replaces an existing file (default true).
---@field sink? fun(chunk: string): boolean?, string? Called with each chunk; false[, msg] stops.
---@field stream? boolean true: the result is a mistralai.Stream read at the caller's pace.
---@field max_string_bytes? integer The most of a download to a string (16 MiB); more ends with kind "limit".
---@field progress? fun(done: integer, total: integer?) Bytes received and the Content-Length.

---@class mistralai.Stream
---@field status integer
---@field headers table<string, string>
---@field read fun(self: mistralai.Stream): string?, mistralai.Error? The next chunk; nil at the end; nil, err on failure.
---@field close fun(self: mistralai.Stream) Stops the transfer and frees it; idempotent.

---@class mistralai.SignedUrlOptions: mistralai.IdOptions
---@field expiry? integer Hours, 1-168 (default 24).

---@class mistralai.Files
---@field upload fun(options: mistralai.UploadOptions): mistralai.File?, mistralai.Error?, mistralai.Response?
---@field list fun(options?: mistralai.ListOptions): mistralai.FileList?, mistralai.Error?, mistralai.Response?
---@field each fun(options?: mistralai.ListOptions): (fun(): mistralai.File?), nil, nil, any
---@field retrieve fun(file_id: string|mistralai.IdOptions, options?: mistralai.IdOptions): mistralai.File?, mistralai.Error?, mistralai.Response?
---@field delete fun(file_id: string|mistralai.IdOptions, options?: mistralai.IdOptions): mistralai.Deleted?, mistralai.Error?, mistralai.Response?
---@field download fun(file_id: string|mistralai.DownloadOptions, options?: mistralai.DownloadOptions): string|true|mistralai.Stream|nil, mistralai.Error?, mistralai.Response?
---@field get_signed_url fun(file_id: string|mistralai.SignedUrlOptions, options?: mistralai.SignedUrlOptions): mistralai.SignedUrl?, mistralai.Error?, mistralai.Response?

---@class mistralai.File
---@field id string
---@field object string "file"
---@field bytes integer?
---@field created_at integer Unix seconds.
---@field filename string
---@field purpose string
---@field sample_type string
---@field num_lines integer?
---@field mimetype string?
---@field source string
---@field signature string?
---@field expires_at integer?
---@field visibility string?
---@field deleted boolean? retrieve only

---@class mistralai.FileList
---@field data mistralai.File[]
---@field object string "list"
---@field total integer?

---@class mistralai.Deleted
---@field id string
---@field object string
---@field deleted boolean

---@class mistralai.SignedUrl
---@field url string

---@class mistralai.Response
---@field status integer
---@field headers table<string, string> Lower-case names.
---@field attempts integer
---@field body? string The JSON answer as sent (all but download).

---@class mistralai.Error
---@field kind "http"|"network"|"timeout"|"io"|"decode"|"aborted"|"limit"|"invalid"
---@field status integer?
---@field message string
---@field code string?
---@field type string?
---@field body string?
---@field headers table<string, string>?
---@field attempts integer?
---@field elapsed number? Seconds from the call's start to its end, waits included.
---@field reason string? A stable name of a transfer's failure (docs/api.md).
---@field problems { line: integer, reason: string }[]? kind "invalid": the first bad lines

---@class mistralai.nvim
local nvim = {}

---A client whose operations take a callback last and return at once (Neovim plugins).
---@param options? mistralai.ClientOptions
---@return mistralai.NvimClient
function nvim.new(options) end

---@class mistralai.NvimClient
---@field files mistralai.NvimFiles
---@field server_url string
---@field close fun() Frees the connections; transfers in flight are cancelled.

---@class mistralai.Handle
---@field cancel fun() Stops the operation; its callback gets kind "aborted".

---@alias mistralai.Callback fun(result: any, err: mistralai.Error?, response: mistralai.Response?)

---@class mistralai.NvimFiles
---@field upload fun(options: mistralai.UploadOptions, callback: mistralai.Callback): mistralai.Handle
---@field list fun(options: mistralai.ListOptions, callback: mistralai.Callback): mistralai.Handle
---@field each fun(options: mistralai.ListOptions, callback: fun(files: mistralai.File[]?, err: mistralai.Error?)): mistralai.Handle
---@field retrieve fun(file_id: string, options: mistralai.IdOptions|mistralai.Callback, callback?: mistralai.Callback): mistralai.Handle
---@field delete fun(file_id: string, options: mistralai.IdOptions|mistralai.Callback, callback?: mistralai.Callback): mistralai.Handle
---@field download fun(file_id: string, options: mistralai.DownloadOptions|mistralai.Callback, callback?: mistralai.Callback): mistralai.Handle
---@field get_signed_url fun(file_id: string, options: mistralai.SignedUrlOptions|mistralai.Callback, callback?: mistralai.Callback): mistralai.Handle

---@class mistralai.resty
local resty = {}

---The blocking API, but yielding to nginx (ngx.sleep) between steps (OpenResty).
---@param options? mistralai.ClientOptions
---@return mistralai.Client
function resty.new(options) end
