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
--
-- WHERE THE ANNOTATIONS COME FROM
--   1. The frame itself (checked on every frame, first): a pcapng written by
--        wirenote annotate CAPTURE --pcapng-out CAPTURE.annotated.pcapng
--      carries each packet's annotation as a packet comment (frame.comment) that starts
--      with "wirenote/1". Works on every OS and from File > Open; nothing to configure.
--      Grammar (README, "Wireshark"): "wirenote/" VERSION, then " key=value" pairs; a value
--      is bare (no space, '"', '\' or control character) or quoted, with \" \\ and \xHH
--      escapes. Unknown keys are ignored; another VERSION is refused, once, with a reason.
--   2. Otherwise a metadata file (a Lua table, data only, loaded with an empty
--      environment), written by
--        wirenote annotate CAPTURE --format lua -o CAPTURE.wirenote.lua
--      The first that is set or exists wins: the preference wirenote.metadata_file
--      (Edit > Preferences > Protocols > WIRENOTE); the script argument
--      (tshark -X lua_script:wirenote.lua -X lua_script1:FILE); the environment variable
--      WIRENOTE_METADATA; next to the capture named on the command line (read from
--      /proc/self/cmdline, so Linux only): CAP.wirenote.lua or CAP-without-extension
--      .wirenote.lua. Looked for on the first frame dissected. The metadata names its
--      capture's identity (frame count; time and lengths of the first 8 frames): it is
--      checked frame by frame from the first, and metadata that does not match is
--      refused before anything (more) is labelled. A frame with a wirenote comment uses
--      the comment; matching metadata then adds the connection's fields.
--   No annotations: nothing is shown and nothing is said. Broken or mismatched metadata
--   (or a named file that does not exist): one expert info (on frame 1, or the frame
--   that showed the mismatch) and one line on standard error. Never a dialog.
--
-- LOADED TWICE
--   Installed in the personal plugins folder and also given with -X (or given twice),
--   the first copy registers and later copies hand it their script argument and stop.
--
-- HOW TO RUN
--   Copy this file to your personal Lua plugins folder (Help > About Wireshark > Folders)
--   and use Analyze > Reload Lua Plugins, or:
--     tshark -r CAP -X lua_script:plugins/wirenote.lua -T fields -e frame.number -e wirenote.role
----------------------------------------

-- Arguments given with -X lua_script1:... (the metadata file).
local script_args = { ... }

----------------------------------------
-- one plugin, however many times it is loaded: the first copy registers, a later copy
-- (installed and -X, or -X twice) gives the first its script arguments and stops here.
local loaded = rawget(_G, "wirenote_plugin")
if type(loaded) == "table" and loaded.add_script_args then
    loaded.add_script_args(script_args)
    return
end

----------------------------------------
-- debug toggle
local DEBUG = false
local function dprint(...)
    if DEBUG then
        print("wirenote:", ...)
    end
end

----------------------------------------
-- the protocol (another plugin already registered under this name: say so once, stop)
local proto_ok, wirenote = pcall(Proto, "wirenote", "wirenote annotations")
if not proto_ok then
    io.stderr:write("wirenote: another plugin already registered the wirenote protocol "
        .. "(an older copy of wirenote.lua?); this copy is not used\n")
    return
end

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
local ef_not_applied = ProtoExpert.new("wirenote.not_applied.expert",
                                       "wirenote annotations not applied",
                                       expert.group.UNDECODED, expert.severity.WARN)

wirenote.experts = { ef_rst, ef_retransmission, ef_incomplete, ef_not_applied }

----------------------------------------
-- preferences
wirenote.prefs.metadata_file = Pref.string("Metadata file", "",
    "wirenote metadata (wirenote annotate CAPTURE --format lua -o FILE). Not needed for "
    .. "a capture annotated with --pcapng-out. Empty: look next to the capture named on "
    .. "the command line.")

----------------------------------------
-- field extractors must be created at file scope
local f_comment = Field.new("frame.comment")

----------------------------------------
-- state, reset for every capture (init) and preference change

-- The metadata format this plugin reads, and the comment grammar's version.
local METADATA_VERSION = 2
local COMMENT_VERSION = "1"

-- Connection states whose opening never completed.
local INCOMPLETE = { S0 = true, REJ = true, RSTOS0 = true, RSTRH = true, SH = true, SHR = true }

local mode = nil       -- the metadata: nil (first frame not seen yet), "metadata" or "off"
local meta = nil       -- the metadata table, in "metadata" mode
local identity = nil   -- frame number -> {secs, nsecs, len, cap_len}, from the metadata
local problem = nil    -- { frame = N, text = "..." }: why nothing (more) is labelled

local function reset()
    mode, meta, identity, problem = nil, nil, nil, nil
end

-- Gives up (or notes a broken comment) at frame `number`, for `why`: one line on standard
-- error, and an expert info on that frame. Only the first problem is kept and said.
local function refuse(number, why)
    if problem then return end
    problem = { frame = number, text = why }
    io.stderr:write("wirenote: " .. why .. "\n")
end

----------------------------------------
-- the comment route: "wirenote/1 key=value key="quoted \"value\"" ..."

local ESCAPES = { ['"'] = '"', ["\\"] = "\\" }

-- Parses the pairs after the version tag; nil and a reason when the text is not in the
-- grammar.
local function parse_pairs(text, pos)
    local values = {}
    local n = #text
    while pos <= n do
        if text:sub(pos, pos) ~= " " then return nil, "expected a space at byte " .. pos end
        local key, after = text:match("^([a-z_]+)=()", pos + 1)
        if not key then return nil, "expected key=value at byte " .. (pos + 1) end
        pos = after
        if text:sub(pos, pos) == '"' then
            local parts = {}
            pos = pos + 1
            while true do
                local c = text:sub(pos, pos)
                if c == "" then return nil, "unterminated quoted value of " .. key end
                if c == '"' then pos = pos + 1 break end
                if c == "\\" then
                    local e = text:sub(pos + 1, pos + 1)
                    if ESCAPES[e] then
                        parts[#parts + 1] = ESCAPES[e]
                        pos = pos + 2
                    elseif e == "x" and text:sub(pos + 2, pos + 3):match("^%x%x$") then
                        parts[#parts + 1] = string.char(tonumber(text:sub(pos + 2, pos + 3), 16))
                        pos = pos + 4
                    else
                        return nil, "unknown escape in the value of " .. key
                    end
                else
                    local run, next_pos = text:match('^([^"\\]+)()', pos)
                    parts[#parts + 1] = run
                    pos = next_pos
                end
            end
            values[key] = table.concat(parts)
        else
            local value, next_pos = text:match('^([^ "\\]+)()', pos)
            if not value then return nil, "empty value of " .. key end
            values[key] = value
            pos = next_pos
        end
    end
    return values
end

-- The frame's wirenote comment (the last one, if several), or nil.
local function wirenote_comment()
    local found = nil
    for _, info in ipairs({ f_comment() }) do
        local text = tostring(info.value)
        if text:sub(1, 9) == "wirenote/" then found = text end
    end
    return found
end

-- The annotation in the frame's comment, as a frame entry like the metadata's; or nil
-- and a reason.
local function comment_entry(text)
    local version, pos = text:match("^wirenote/(%d+)()")
    if version ~= COMMENT_VERSION then
        return nil, "the packet comments were written by a wirenote whose comment format is "
            .. tostring(version) .. "; this plugin reads format " .. COMMENT_VERSION
            .. ": update plugins/wirenote.lua"
    end
    local v, err = parse_pairs(text, pos)
    if not v then return nil, "packet comment not in the wirenote/1 grammar: " .. err end
    if not v.stream then return false end  -- a frame that is not TCP
    local stream = tonumber(v.stream)
    if not stream or not v.role then
        return nil, "packet comment without a numeric stream or a role"
    end
    return { stream, v.dir or "", v.role, v.client_state or "", v.server_state or "",
             v.analysis or "", tonumber(v.completeness) or 0, v.http_note or "", v.http or "" }
end

----------------------------------------
-- the metadata route

local function file_exists(path)
    local f = io.open(path, "rb")
    if f then f:close() return true end
    return false
end

-- The capture named on the command line, read from /proc/self/cmdline (Linux only).
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

-- The metadata file named by the user (preference, script argument, environment), or nil.
local function named_metadata()
    local pref = wirenote.prefs.metadata_file
    if pref and pref ~= "" then return pref end
    if script_args[1] and script_args[1] ~= "" then return script_args[1] end
    local env = os.getenv("WIRENOTE_METADATA")
    if env and env ~= "" then return env end
    return nil
end

-- The metadata file found next to the capture named on the command line, or nil.
local function metadata_beside_capture()
    local cap = capture_from_cmdline()
    if not cap then return nil end
    local stem = cap:gsub("%.gz$", ""):gsub("%.[^./\\]*$", "")
    for _, path in ipairs({ cap .. ".wirenote.lua", stem .. ".wirenote.lua" }) do
        if file_exists(path) then return path end
    end
    return nil
end

-- Loads and checks the metadata at `path`: the table, or nil and a reason.
local function load_metadata(path)
    -- Data only: compiled as text, run with an empty environment.
    local chunk, err = loadfile(path, "t", {})
    if not chunk then return nil, "cannot read metadata " .. path .. ": " .. tostring(err) end
    local ok, value = pcall(chunk)
    if not ok or type(value) ~= "table" or type(value.frames) ~= "table" then
        return nil, "malformed metadata " .. path .. " (not a wirenote metadata table)"
    end
    if value.wirenote ~= METADATA_VERSION then
        return nil, "metadata " .. path .. " is format " .. tostring(value.wirenote)
            .. ", this plugin reads format " .. METADATA_VERSION
            .. " (which names its capture): run wirenote annotate --format lua again"
    end
    local id = value.identity
    if type(id) ~= "table" or type(id.frames) ~= "number" or type(id.first) ~= "table" then
        return nil, "malformed metadata " .. path .. " (no capture identity)"
    end
    return value
end

local function describe(secs, nsecs, len, cap_len)
    return string.format("%d bytes (%d captured) at %d.%09d", len, cap_len, secs, nsecs)
end

-- Checks frame `pinfo` against the metadata's identity; refuses the metadata (switching
-- it off) on a difference. Only what every pass has is used (the frame number, lengths
-- and time, to the microsecond, from pinfo): in tshark's first pass of -2 and Wireshark's
-- first pass there may be no tree, so no field to read.
local function check_identity(pinfo)
    local number = pinfo.number
    local made_for = " (metadata made for " .. tostring(meta.capture) .. ")"
    if number > meta.identity.frames then
        refuse(number, "metadata not applied: this capture has more than the "
            .. meta.identity.frames .. " frames of the capture it describes" .. made_for)
        mode = "off"
        return
    end
    local want = identity[number]
    if not want then return end
    local time = pinfo.abs_ts
    local want_time = want[1] + want[2] / 1e9
    if math.abs(time - want_time) > 1e-6 or pinfo.len ~= want[3] or pinfo.caplen ~= want[4] then
        refuse(number, "metadata not applied: it describes another capture" .. made_for
            .. ": frame " .. number .. " is " .. string.format("%d bytes (%d captured) at %.6f",
                pinfo.len, pinfo.caplen, time)
            .. " here, " .. string.format("%d bytes (%d captured) at %d.%06d",
                want[3], want[4], want[1], math.floor(want[2] / 1000))
            .. " there")
        mode = "off"
    end
end

-- On the first frame dissected: is there metadata, and can it be used?
local function choose(pinfo)
    mode = "off"
    local named = named_metadata()
    local path = named or metadata_beside_capture()
    if not path then return end  -- no metadata: silent
    if named and not file_exists(named) then
        refuse(pinfo.number, "metadata not applied: " .. named .. " does not exist")
        return
    end
    local value, err = load_metadata(path)
    if not value then
        refuse(pinfo.number, "metadata not applied: " .. err)
        return
    end
    meta = value
    identity = {}
    for _, e in ipairs(value.identity.first) do
        if type(e) == "table" then identity[e[1]] = { e[2], e[3], e[4], e[5] } end
    end
    mode = "metadata"
    dprint("loaded", path, #value.frames, "frames")
end

----------------------------------------
-- the subtree

local function show(tree, frame, conn)
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

----------------------------------------
-- the post-dissector
function wirenote.dissector(tvb, pinfo, tree)
    if mode == nil then choose(pinfo) end
    if mode == "metadata" then check_identity(pinfo) end

    -- The frame's own comment first (it travels with the packet); else the metadata.
    -- With both, the metadata (checked against this capture) adds the connection's fields.
    local entry, conn = nil, nil
    local text = wirenote_comment()
    if text then
        local err
        entry, err = comment_entry(text)
        if entry == nil then refuse(pinfo.number, err) end
    elseif mode == "metadata" then
        entry = meta.frames[pinfo.number]
    end
    if entry and mode == "metadata" and meta.streams then
        conn = meta.streams[entry[1] + 1]
    end

    if problem and problem.frame == pinfo.number then
        local item = tree:add(wirenote, "wirenote: " .. problem.text)
        item:add_proto_expert_info(ef_not_applied, problem.text)
    end
    if entry then show(tree, entry, conn) end
end

-- A new capture (or changed preferences): choose again on the next frame.
function wirenote.init()
    reset()
end

function wirenote.prefs_changed()
    reset()
end

----------------------------------------
-- registration, and the hand-over for a later copy of this file
rawset(_G, "wirenote_plugin", {
    add_script_args = function(args)
        if args[1] and args[1] ~= "" and not (script_args[1] and script_args[1] ~= "") then
            script_args = args
        end
    end,
})
register_postdissector(wirenote)
