// SPDX-License-Identifier: BSD-3-Clause
// Listening sockets: TCP over IPv4 and IPv6, and unix sockets. This file
// creates and binds the socket; the backend arms accepts on it.

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ringpub/alloc.h"
#include "ringpub/net.h"

#include "net/internal.h"

// redis's default tcp-backlog.
#define DEFAULT_BACKLOG 511

void rp_net__listener_free(struct rp_net_listener *l)
{
    if (l->fd >= 0)
        close(l->fd);
    if (l->path != NULL) {
        unlink(l->path);
        rp_free(l->path);
    }
    rp_free(l);
}

// Takes ownership of fd (and path, an rp_malloc'd string or NULL) and starts
// accepting on it. On failure both are released.
static int add_listener(rp_net_loop_t *loop, int fd, int is_unix, char *path)
{
    struct rp_net_listener *l = rp_calloc(1, sizeof(*l));
    struct rp_net_listener **arr = NULL;
    if (l != NULL)
        arr = rp_reallocarray(loop->listeners, loop->listener_count + 1, sizeof(*arr));
    if (arr == NULL) {
        rp_free(l);
        close(fd);
        if (path != NULL) {
            unlink(path);
            rp_free(path);
        }
        return -ENOMEM;
    }
    loop->listeners = arr;

    l->index = loop->listener_count;
    l->fd = fd;
    l->is_unix = is_unix;
    l->path = path;
    int err = loop->ops->listener_start(loop, l);
    if (err != 0) {
        rp_net__listener_free(l);
        return err;
    }
    loop->listeners[loop->listener_count++] = l;
    return 0;
}

static int parse_tcp_addr(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    if (port < 0 || port > 65535)
        return -EINVAL;

    // redis bind accepts "*" for every IPv4 address and "::*" for every IPv6 one.
    if (strcmp(addr, "*") == 0)
        addr = "0.0.0.0";
    else if (strcmp(addr, "::*") == 0)
        addr = "::";

    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        *len = sizeof(*sin);
        return 0;
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*sin6);
        return 0;
    }
    return -EINVAL;
}

int rp_net_listen_tcp_bound(rp_net_loop_t *loop, const char *addr, int port, int backlog, int *bound_port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int err = parse_tcp_addr(addr, port, &ss, &len);
    if (err != 0)
        return err;

    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;

    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
        goto fail;
    // Without V6ONLY an IPv6 wildcard listener would also take the IPv4 port,
    // and a separate "bind 0.0.0.0" would then fail with EADDRINUSE.
    if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
        goto fail;
    if (bind(fd, (struct sockaddr *)&ss, len) != 0)
        goto fail;
    if (listen(fd, backlog > 0 ? backlog : DEFAULT_BACKLOG) != 0)
        goto fail;

    if (bound_port != NULL) {
        struct sockaddr_storage got;
        socklen_t got_len = sizeof(got);
        if (getsockname(fd, (struct sockaddr *)&got, &got_len) != 0)
            goto fail;
        if (got.ss_family == AF_INET)
            *bound_port = ntohs(((struct sockaddr_in *)&got)->sin_port);
        else
            *bound_port = ntohs(((struct sockaddr_in6 *)&got)->sin6_port);
    }
    return add_listener(loop, fd, 0, NULL);

fail:
    err = -errno;
    close(fd);
    return err;
}

int rp_net_listen_tcp(rp_net_loop_t *loop, const char *addr, int port, int backlog)
{
    return rp_net_listen_tcp_bound(loop, addr, port, backlog, NULL);
}

int rp_net_listen_unix(rp_net_loop_t *loop, const char *path, unsigned mode, int backlog)
{
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    size_t path_len = strlen(path);
    if (path_len == 0)
        return -EINVAL;
    if (path_len >= sizeof(sun.sun_path))
        return -ENAMETOOLONG;
    memcpy(sun.sun_path, path, path_len + 1);

    // Remove a socket file left by an earlier run, but never a file of
    // another kind: bind then fails with EADDRINUSE and nothing is lost.
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);

    char *owned = rp_malloc(path_len + 1);
    if (owned == NULL)
        return -ENOMEM;
    memcpy(owned, path, path_len + 1);

    int err;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err = -errno;
        rp_free(owned);
        return err;
    }
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
        err = -errno;
        close(fd);
        rp_free(owned);
        return err;
    }
    if ((mode != 0 && chmod(path, mode) != 0) || listen(fd, backlog > 0 ? backlog : DEFAULT_BACKLOG) != 0) {
        err = -errno;
        close(fd);
        unlink(path);
        rp_free(owned);
        return err;
    }
    return add_listener(loop, fd, 1, owned);
}
