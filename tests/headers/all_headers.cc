// SPDX-License-Identifier: BSD-3-Clause
// Every public header in one C++ translation unit, calling into the library.

#include <cstdio>
#include <cstring>

#include "ringpub/alloc.h"
#include "ringpub/buf.h"
#include "ringpub/err.h"
#include "ringpub/net.h"
#include "ringpub/pubsub.h"
#include "ringpub/resp.h"
#include "ringpub/resp_writer.h"
#include "ringpub/version.h"

int main()
{
    if (rp_version_hex() != RP_VERSION_HEX) {
        std::fprintf(stderr, "version mismatch: library %s, header %x\n", rp_version(), RP_VERSION_HEX);
        return 1;
    }

    struct rp_buf b = RP_BUF_INIT;
    if (rp_resp_write_bulk(&b, "hello", 5) != 0)
        return 1;
    bool ok = b.len == 11 && std::memcmp(b.data, "$5\r\nhello\r\n", 11) == 0;
    rp_buf_free(&b);
    if (!ok) {
        std::fprintf(stderr, "unexpected encoding of a bulk string\n");
        return 1;
    }
    std::printf("1 passed, 0 failed\n");
    return 0;
}
