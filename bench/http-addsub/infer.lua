-- wrk script: POST one add_sub inference (Triton's classic example, INT32
-- [16] + [16]) per request, over JSON or over the binary tensor extension.
-- Usage: wrk ... -s infer.lua http://HOST:PORT/v2/models/add_sub/infer -- json|binary
-- Counts non-200 answers so the runner can refuse a run that measured errors.

local a, b = {}, {}
for i = 1, 16 do
  a[i] = i - 1
  b[i] = 1
end

-- Little-endian int32 (values here are small and non-negative).
local function le32(n)
  return string.char(n % 256, math.floor(n / 256) % 256,
                     math.floor(n / 65536) % 256, math.floor(n / 16777216) % 256)
end

local function json_body()
  return '{"inputs":[' ..
    '{"name":"INPUT0","shape":[16],"datatype":"INT32","data":[' .. table.concat(a, ",") .. ']},' ..
    '{"name":"INPUT1","shape":[16],"datatype":"INT32","data":[' .. table.concat(b, ",") .. ']}],' ..
    '"outputs":[{"name":"OUTPUT0","parameters":{"binary_data":false}},' ..
    '{"name":"OUTPUT1","parameters":{"binary_data":false}}]}'
end

-- What tritonclient / perf_analyzer send: a JSON header, then the raw tensors.
local function binary_body()
  local header = '{"inputs":[' ..
    '{"name":"INPUT0","shape":[16],"datatype":"INT32","parameters":{"binary_data_size":64}},' ..
    '{"name":"INPUT1","shape":[16],"datatype":"INT32","parameters":{"binary_data_size":64}}],' ..
    '"outputs":[{"name":"OUTPUT0","parameters":{"binary_data":true}},' ..
    '{"name":"OUTPUT1","parameters":{"binary_data":true}}]}'
  local blob = {}
  for i = 1, 16 do blob[#blob + 1] = le32(a[i]) end
  for i = 1, 16 do blob[#blob + 1] = le32(b[i]) end
  return header, header .. table.concat(blob)
end

function init(args)
  wrk.method = "POST"
  if args[1] == "binary" then
    local header, body = binary_body()
    wrk.body = body
    wrk.headers["Content-Type"] = "application/octet-stream"
    wrk.headers["Inference-Header-Content-Length"] = tostring(#header)
  else
    wrk.body = json_body()
    wrk.headers["Content-Type"] = "application/json"
  end
end
