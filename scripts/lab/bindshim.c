/* LD_PRELOAD shim for the lab: makes a tool without a source-address option (hydra,
 * slowhttptest) connect from the lab address in LAB_BIND_ADDR, so its flows carry the
 * attack's own address and can be labelled. Only IPv4 connections to 127.0.0.0/8 are
 * bound; anything else is left exactly as the tool asked. Built by scripts/lab/lab.sh. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

int connect(int fd, const struct sockaddr *address, socklen_t length) {
    static int (*next_connect)(int, const struct sockaddr *, socklen_t);
    if (next_connect == NULL) {
        next_connect = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
        if (next_connect == NULL) { errno = ENOSYS; return -1; }
    }
    const char *source = getenv("LAB_BIND_ADDR");
    if (source != NULL && address != NULL && length >= (socklen_t)sizeof(struct sockaddr_in)
        && address->sa_family == AF_INET) {
        const struct sockaddr_in *destination = (const struct sockaddr_in *)address;
        struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = 0 };
        if ((ntohl(destination->sin_addr.s_addr) >> 24) == 127
            && inet_pton(AF_INET, source, &local.sin_addr) == 1) {
            int saved = errno;
            /* Fails harmlessly (EINVAL) when the socket is already bound. */
            (void)bind(fd, (const struct sockaddr *)&local, sizeof local);
            errno = saved;
        }
    }
    return next_connect(fd, address, length);
}
