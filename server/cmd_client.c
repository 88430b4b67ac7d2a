// SPDX-License-Identifier: BSD-3-Clause
// TODO: not written yet; the table is empty so the server links.

#include "server/server.h"

const struct command rp_cmds_client[] = {{0}};
