/*
 * The `pytorch` backend (platform pytorch_libtorch) beyond its backend_ops
 * entry in backend_registry[]: access to the libtorch shim it loads, for the
 * unit tests and the in-process benchmark. Built only with
 * INFERTUNE_WITH_TORCH. Depends on backend/torch_shim.h and util/.
 */
#ifndef INFERTUNE_BACKEND_PYTORCH_H
#define INFERTUNE_BACKEND_PYTORCH_H

#include "backend/torch_shim.h"

struct it_error;

/**
 * The libtorch shim's function table, loading libinfertune_torch.so on the
 * first call ($INFERTUNE_TORCH_SHIM when set, else next to the executable,
 * else the build tree's copy). NULL with IT_ERR_UNSUPPORTED in err (naming every place
 * tried and why it failed) when it cannot be loaded; the answer never
 * changes afterwards. Thread-safe.
 */
const struct torch_shim_api *pytorch_shim(struct it_error *err);

#endif
