-- wrk script for bench/soak: every request picks its kind from a fixed
-- 20-slot cycle (per thread), so the mix holds exactly over any window:
--   7 add_sub over JSON, 7 add_sub over the binary tensor extension,
--   3 sim (binary), 1 unknown model, 1 malformed JSON, 1 wrong shape.
-- Each answer is classified by its status and body (wrk does not say which
-- request an answer belongs to, but each kind's answer names itself): a good
-- kind must be 200 with its model's name, a bad kind 400 with its own
-- message. done() prints one line "SOAK kind=count ..." for the runner:
-- ok_<kind> / expected_<kind> counts and `unexpected`, with the first
-- unexpected answer on a "SOAK-FIRST" line.
-- Usage: wrk ... -s soak.lua http://HOST:PORT

local cycle = {
  "json", "binary", "json", "binary", "sim", "json", "binary",
  "unknown", "json", "binary", "sim", "json", "binary", "malformed",
  "json", "binary", "sim", "json", "binary", "shape",
}

local a = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 }
local b = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }

-- Little-endian int32 of values below 256.
local function small_i32s(values)
  local out = {}
  for i, v in ipairs(values) do
    out[i] = string.char(v, 0, 0, 0)
  end
  return table.concat(out)
end

local function le_f32_one() -- 1.0f
  return string.char(0, 0, 128, 63)
end

local function json_addsub(dims, n)
  local a_, b_ = {}, {}
  for i = 1, n do
    a_[i] = a[(i - 1) % 16 + 1]
    b_[i] = 1
  end
  return '{"inputs":[' ..
    '{"name":"INPUT0","shape":' .. dims .. ',"datatype":"INT32","data":[' .. table.concat(a_, ",") .. ']},' ..
    '{"name":"INPUT1","shape":' .. dims .. ',"datatype":"INT32","data":[' .. table.concat(b_, ",") .. ']}]}'
end

local function binary(inputs, outputs)
  local parts, blob = {}, {}
  for _, t in ipairs(inputs) do
    parts[#parts + 1] = '{"name":"' .. t.name .. '","shape":' .. t.shape .. ',"datatype":"' ..
      t.dtype .. '","parameters":{"binary_data_size":' .. #t.data .. '}}'
    blob[#blob + 1] = t.data
  end
  local outs = {}
  for _, o in ipairs(outputs) do
    outs[#outs + 1] = '{"name":"' .. o .. '","parameters":{"binary_data":true}}'
  end
  local header = '{"inputs":[' .. table.concat(parts, ",") .. '],"outputs":[' ..
    table.concat(outs, ",") .. ']}'
  return header, header .. table.concat(blob)
end

local requests = {}

function init(args)
  local json_hdr = { ["Content-Type"] = "application/json" }
  local infer = "/v2/models/%s/infer"
  requests.json = wrk.format("POST", infer:format("add_sub"), json_hdr, json_addsub("[16]", 16))
  local h, body = binary({ { name = "INPUT0", shape = "[16]", dtype = "INT32", data = small_i32s(a) },
                           { name = "INPUT1", shape = "[16]", dtype = "INT32", data = small_i32s(b) } },
                         { "OUTPUT0", "OUTPUT1" })
  requests.binary = wrk.format("POST", infer:format("add_sub"),
    { ["Content-Type"] = "application/octet-stream", ["Inference-Header-Content-Length"] = tostring(#h) }, body)
  h, body = binary({ { name = "INPUT0", shape = "[1,4]", dtype = "FP32", data = le_f32_one():rep(4) } },
                   { "OUTPUT0" })
  requests.sim = wrk.format("POST", infer:format("sim_soak"),
    { ["Content-Type"] = "application/octet-stream", ["Inference-Header-Content-Length"] = tostring(#h) }, body)
  requests.unknown = wrk.format("POST", infer:format("no_such_model"), json_hdr, json_addsub("[16]", 16))
  requests.malformed = wrk.format("POST", infer:format("add_sub"), json_hdr, '{"inputs": [{"name": "INPUT0", ')
  requests.shape = wrk.format("POST", infer:format("add_sub"), json_hdr, json_addsub("[4,4]", 16))
  counts = { unexpected = 0 }
  first = ""
  slot = 0
end

function request()
  slot = slot % #cycle + 1
  return requests[cycle[slot]]
end

local function count(k)
  counts[k] = (counts[k] or 0) + 1
end

function response(status, headers, body)
  local kind
  if status == 200 then
    if body:find('"model_name":"add_sub"', 1, true) then
      kind = headers["Inference-Header-Content-Length"] and "ok_binary" or "ok_json"
    elseif body:find('"model_name":"sim_soak"', 1, true) then
      kind = "ok_sim"
    end
  elseif status == 400 then
    if body:find("no_such_model", 1, true) then
      kind = "expected_unknown"
    elseif body:find("failed to parse", 1, true) then
      kind = "expected_malformed"
    elseif body:find("INPUT0", 1, true) and body:find("shape", 1, true) then
      kind = "expected_shape"
    end
  end
  if kind then
    count(kind)
  else
    counts.unexpected = counts.unexpected + 1
    if first == "" then
      first = status .. " " .. body:sub(1, 200)
    end
  end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local total, firsts = {}, ""
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do
      total[k] = (total[k] or 0) + v
    end
    local f = t:get("first")
    if f ~= "" and firsts == "" then
      firsts = f
    end
  end
  local keys = {}
  for k in pairs(total) do
    keys[#keys + 1] = k
  end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do
    out[#out + 1] = k .. "=" .. total[k]
  end
  io.write("SOAK " .. table.concat(out, " ") .. "\n")
  if firsts ~= "" then
    io.write("SOAK-FIRST " .. firsts:gsub("\n", " ") .. "\n")
  end
end
