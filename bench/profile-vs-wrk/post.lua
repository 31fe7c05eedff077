-- wrk script: POST the very request `infertune profile -m ident --input-data
-- zero` sends (binary tensor extension: a JSON header, then 16 FP32 zeros),
-- so that both clients put the same bytes on the wire.
local header = '{"inputs":[{"name":"INPUT0","shape":[16],"datatype":"FP32",' ..
  '"parameters":{"binary_data_size":64}}],' ..
  '"outputs":[{"name":"OUTPUT0","parameters":{"binary_data":true}}]}'

wrk.method = "POST"
wrk.body = header .. string.rep("\0", 64)
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Inference-Header-Content-Length"] = tostring(#header)
