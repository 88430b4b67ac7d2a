// SPDX-License-Identifier: BSD-3-Clause
// The library's version, as built.

#include "ringpub/version.h"

#define RP_STR_(x) #x
#define RP_STR(x) RP_STR_(x)

const char *rp_version(void)
{
    return RP_STR(RP_VERSION_MAJOR) "." RP_STR(RP_VERSION_MINOR) "." RP_STR(RP_VERSION_PATCH);
}

unsigned rp_version_hex(void)
{
    return RP_VERSION_HEX;
}
