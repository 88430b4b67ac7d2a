// SPDX-License-Identifier: BSD-3-Clause
// Default parser limits, taken from redis-server 7.0's defaults.

#include <limits.h>

#include "ringpub/resp.h"

void rp_resp_limits_default(struct rp_resp_limits *limits)
{
    limits->max_bulk_len = 512u * 1024 * 1024;  // proto-max-bulk-len
    limits->max_elements = INT_MAX;             // processMultibulkBuffer rejects counts above INT_MAX
    limits->max_inline_len = 64 * 1024;         // PROTO_INLINE_MAX_SIZE
    limits->max_depth = 1000;
}
