----------------------------------------
-- wirenote.lua: wirenote's annotations inside Wireshark.
--
-- BACKGROUND
--   wirenote (https://example.invalid/wirenote) explains TCP connections and HTTP
--   exchanges in a capture: each packet's lifecycle role (handshake-syn ...
--   teardown-ack2, rst), both endpoints' TCP states, Wireshark-compatible analysis
--   flags, HTTP notes, and per-connection summaries (Zeek-style conn_state).
--
-- OVERVIEW
--   A post-dissector: after Wireshark's own dissection of every frame it adds a
--   "wirenote" subtree whose fields work in display filters and as columns:
--     wirenote.role == "teardown-fin1"
--     wirenote.server_state == "TIME_WAIT"
--     wirenote.conn_state == "REJ"
--   and expert infos for resets, retransmissions and incomplete handshakes.
--   The annotations come from a metadata file written by
--     wirenote annotate CAPTURE --format lua -o CAPTURE.wirenote.lua
--   which holds only data (a Lua table); it is loaded with an empty environment.
--
-- WHERE THE METADATA IS FOUND (first that exists wins)
--   1. the preference wirenote.metadata_file (Edit > Preferences > Protocols > WIRENOTE);
--   2. the script argument: tshark -X lua_script:wirenote.lua -X lua_script1:FILE;
--   3. the environment variable WIRENOTE_METADATA;
--   4. next to the capture named on the command line (wireshark -r CAP, tshark -r CAP,
--      wireshark CAP; read from /proc/self/cmdline on Linux): CAP.wirenote.lua, or the
--      capture's name without its extension followed by .wirenote.lua.
--   Missing or malformed metadata gives one clear message; Wireshark keeps working.
--
-- HOW TO RUN
--   Copy this file to your personal Lua plugins folder (Help > About Wireshark > Folders),
--   or:  tshark -r CAP -X lua_script:plugins/wirenote.lua -T fields -e frame.number -e wirenote.role
----------------------------------------

-- Arguments given with -X lua_script1:... (the metadata file).
local script_args = { ... }

----------------------------------------
-- debug toggle
local DEBUG = false
local function dprint(...)
    if DEBUG then
        print("wirenote:", ...)
    end
end

----------------------------------------
-- the protocol
local wirenote = Proto("wirenote", "wirenote annotations")

----------------------------------------
-- fields (abbreviations start with "wirenote." to avoid collisions)
local pf_stream       = ProtoField.uint32("wirenote.stream", "Stream (tcp.stream)")
local pf_dir          = ProtoField.string("wirenote.dir", "Direction")
local pf_role         = ProtoField.string("wirenote.role", "Lifecycle role")
local pf_client_state = ProtoField.string("wirenote.client_state", "Client state after packet")
local pf_server_state = ProtoField.string("wirenote.server_state", "Server state after packet")
local pf_analysis     = ProtoField.string("wirenote.analysis", "TCP analysis")
local pf_completeness = ProtoField.uint8("wirenote.completeness", "Completeness")
local pf_http_note    = ProtoField.string("wirenote.http_note", "HTTP note")
local pf_http         = ProtoField.string("wirenote.http", "HTTP messages completed here")
local pf_conn_state   = ProtoField.string("wirenote.conn_state", "Connection state (Zeek)")
local pf_closed_by    = ProtoField.string("wirenote.closed_by", "Closed by")
local pf_history      = ProtoField.string("wirenote.history", "History (Zeek)")
local pf_client       = ProtoField.string("wirenote.client", "Client")
local pf_server       = ProtoField.string("wirenote.server", "Server")
local pf_client_final = ProtoField.string("wirenote.client_final", "Client final state")
local pf_server_final = ProtoField.string("wirenote.server_final", "Server final state")

wirenote.fields = {
    pf_stream, pf_dir, pf_role, pf_client_state, pf_server_state, pf_analysis,
    pf_completeness, pf_http_note, pf_http, pf_conn_state, pf_closed_by, pf_history,
    pf_client, pf_server, pf_client_final, pf_server_final,
}

----------------------------------------
-- expert infos
local ef_rst = ProtoExpert.new("wirenote.rst.expert", "Connection reset (RST)",
                               expert.group.SEQUENCE, expert.severity.WARN)
local ef_retransmission = ProtoExpert.new("wirenote.retransmission.expert",
                                          "Retransmitted segment",
                                          expert.group.SEQUENCE, expert.severity.NOTE)
local ef_incomplete = ProtoExpert.new("wirenote.incomplete_handshake.expert",
                                      "Connection without a complete 3-way handshake",
                                      expert.group.SEQUENCE, expert.severity.WARN)
local ef_no_metadata = ProtoExpert.new("wirenote.no_metadata.expert",
                                       "wirenote metadata does not match this capture",
                                       expert.group.UNDECODED, expert.severity.WARN)

wirenote.experts = { ef_rst, ef_retransmission, ef_incomplete, ef_no_metadata }

----------------------------------------
-- preferences
wirenote.prefs.metadata_file = Pref.string("Metadata file", "",
    "wirenote metadata (wirenote annotate CAPTURE --format lua -o FILE). "
    .. "Empty: look next to the capture named on the command line.")

----------------------------------------
-- field extractors must be created at file scope
local f_tcp_stream = Field.new("tcp.stream")

----------------------------------------
-- loading the metadata

-- Connection states whose opening never completed.
local INCOMPLETE = { S0 = true, REJ = true, RSTOS0 = true, RSTRH = true, SH = true, SHR = true }

local meta = nil          -- the loaded table, or false after a failed attempt
local reported = false    -- one message per failure, not one per frame

local function report(message)
    if reported then return end
    reported = true
    message = "wirenote: " .. message
    if report_failure then
        report_failure(message)
    else
        print(message)
    end
end

local function file_exists(path)
    local f = io.open(path, "rb")
    if f then f:close() return true end
    return false
end

-- The capture named on the command line, read from /proc/self/cmdline (Linux).
local function capture_from_cmdline()
    local f = io.open("/proc/self/cmdline", "rb")
    if not f then return nil end
    local raw = f:read("*a")
    f:close()
    local args = {}
    for a in raw:gmatch("([^%z]*)%z") do args[#args + 1] = a end
    for i = 2, #args do
        local a = args[i]
        if (a == "-r" or a == "--read-file") and args[i + 1] then return args[i + 1] end
        local long = a:match("^%-%-read%-file=(.+)$")
        if long then return long end
    end
    -- wireshark CAPTURE: the last argument that is an existing file and not an option value
    local last = args[#args]
    if last and last:sub(1, 1) ~= "-" and #args > 1 and args[#args - 1]:sub(1, 1) ~= "-" and file_exists(last) then
        return last
    end
    return nil
end

local function candidates()
    local list = {}
    local pref = wirenote.prefs.metadata_file
    if pref and pref ~= "" then list[#list + 1] = pref end
    if script_args[1] and script_args[1] ~= "" then list[#list + 1] = script_args[1] end
    local env = os.getenv("WIRENOTE_METADATA")
    if env and env ~= "" then list[#list + 1] = env end
    local cap = capture_from_cmdline()
    if cap then
        list[#list + 1] = cap .. ".wirenote.lua"
        local stem = cap:gsub("%.gz$", ""):gsub("%.[^./]*$", "")
        list[#list + 1] = stem .. ".wirenote.lua"
    end
    return list
end

local function load_metadata()
    local tried = candidates()
    for _, path in ipairs(tried) do
        if file_exists(path) then
            -- Data only: compiled as text, run with an empty environment.
            local chunk, err = loadfile(path, "t", {})
            if not chunk then
                report("cannot read metadata " .. path .. ": " .. tostring(err))
                return false
            end
            local ok, value = pcall(chunk)
            if not ok or type(value) ~= "table" or value.wirenote ~= 1 or type(value.frames) ~= "table" then
                report("malformed metadata " .. path .. " (not a wirenote version 1 table)")
                return false
            end
            dprint("loaded", path, #value.frames, "frames")
            return value
        end
    end
    if #tried == 0 then
        report("no metadata: set the wirenote.metadata_file preference, or run "
            .. "'wirenote annotate CAPTURE --format lua -o CAPTURE.wirenote.lua'")
    else
        report("no metadata found (tried " .. table.concat(tried, ", ") .. ")")
    end
    return false
end

----------------------------------------
-- the post-dissector
function wirenote.dissector(tvb, pinfo, tree)
    if meta == nil then meta = load_metadata() end
    if not meta then return end
    local frame = meta.frames[pinfo.number]
    if not frame then
        if pinfo.number > #meta.frames and f_tcp_stream() then
            tree:add_proto_expert_info(ef_no_metadata)
        end
        return
    end
    local stream, dir, role, client_state, server_state, analysis, completeness, http_note, http =
        frame[1], frame[2], frame[3], frame[4], frame[5], frame[6], frame[7], frame[8], frame[9]
    local subtree = tree:add(wirenote, "wirenote: " .. role .. " (client " .. client_state
        .. ", server " .. server_state .. ")")
    subtree:add(pf_stream, stream)
    subtree:add(pf_dir, dir)
    local role_item = subtree:add(pf_role, role)
    subtree:add(pf_client_state, client_state)
    subtree:add(pf_server_state, server_state)
    if analysis ~= "" then subtree:add(pf_analysis, analysis) end
    subtree:add(pf_completeness, completeness)
    if http_note ~= "" then subtree:add(pf_http_note, http_note) end
    if http and http ~= "" then subtree:add(pf_http, http) end
    local conn = meta.streams and meta.streams[stream + 1]
    if conn then
        subtree:add(pf_conn_state, conn[1])
        subtree:add(pf_closed_by, conn[2])
        subtree:add(pf_history, conn[3])
        subtree:add(pf_client, conn[4])
        subtree:add(pf_server, conn[5])
        subtree:add(pf_client_final, conn[6])
        subtree:add(pf_server_final, conn[7])
        if INCOMPLETE[conn[1]] and (role == "handshake-syn" or role == "handshake-synack") then
            role_item:add_proto_expert_info(ef_incomplete)
        end
    end
    if role == "rst" then role_item:add_proto_expert_info(ef_rst) end
    if analysis:find("retransmission", 1, true) then
        role_item:add_proto_expert_info(ef_retransmission)
    end
end

-- A new capture (or changed preferences): load again on the next frame.
function wirenote.init()
    meta = nil
    reported = false
end

function wirenote.prefs_changed()
    meta = nil
    reported = false
end

----------------------------------------
-- registration
register_postdissector(wirenote)
