// SPDX-License-Identifier: BSD-3-Clause
// Messages and names for ringpub's error codes and negative errno values.

#define _GNU_SOURCE  // strerrorname_np (glibc 2.32)

#include <string.h>

#include "ringpub/err.h"

const char *rp_strerror(int err)
{
    switch (err) {
    case RP_OK:
        return "success";
#define RP_ERR_MSG(name, msg) case RP_ERR_##name: return msg;
    RP_ERR_MAP(RP_ERR_MSG)
#undef RP_ERR_MSG
    default:
        break;
    }
    if (err < 0 && err > -4096)
        return strerror(-err);
    return "unknown error";
}

const char *rp_errname(int err)
{
    switch (err) {
    case RP_OK:
        return "RP_OK";
#define RP_ERR_NAME(name, msg) case RP_ERR_##name: return "RP_ERR_" #name;
    RP_ERR_MAP(RP_ERR_NAME)
#undef RP_ERR_NAME
    default:
        break;
    }
    if (err < 0 && err > -4096) {
        const char *name = strerrorname_np(-err);
        if (name != NULL)
            return name;
    }
    return "unknown";
}
