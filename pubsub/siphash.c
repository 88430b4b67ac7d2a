// SPDX-License-Identifier: BSD-3-Clause
// SipHash (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012),
// written from the paper's description. The registry keys its tables with
// it so that clients cannot choose channel names that collide.

#include <stdint.h>
#include <string.h>

#include "pubsub/pubsub_internal.h"

static inline uint64_t rotl64(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static inline uint64_t load_le64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

struct sip_state {
    uint64_t v0, v1, v2, v3;
};

static inline void sip_round(struct sip_state *s)
{
    s->v0 += s->v1;
    s->v1 = rotl64(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = rotl64(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = rotl64(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = rotl64(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = rotl64(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = rotl64(s->v2, 32);
}

// SipHash-c-d: c rounds per 8-byte message word, d rounds to finalise.
static inline uint64_t siphash_cd(const uint8_t key[16], const void *data, size_t len, int c, int d)
{
    const uint8_t *in = data;
    uint64_t k0 = load_le64(key);
    uint64_t k1 = load_le64(key + 8);
    struct sip_state s = {
        k0 ^ UINT64_C(0x736f6d6570736575),
        k1 ^ UINT64_C(0x646f72616e646f6d),
        k0 ^ UINT64_C(0x6c7967656e657261),
        k1 ^ UINT64_C(0x7465646279746573),
    };

    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = load_le64(in + i);
        s.v3 ^= m;
        for (int r = 0; r < c; r++)
            sip_round(&s);
        s.v0 ^= m;
    }

    // The last word contains the 0..7 remaining bytes and, in its top byte,
    // the message length mod 256.
    uint8_t tail[8] = {0};
    if (len > full)
        memcpy(tail, in + full, len - full);
    uint64_t m = load_le64(tail) | (uint64_t)(len & 0xff) << 56;
    s.v3 ^= m;
    for (int r = 0; r < c; r++)
        sip_round(&s);
    s.v0 ^= m;

    s.v2 ^= 0xff;
    for (int r = 0; r < d; r++)
        sip_round(&s);
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint64_t rp_ps_siphash(const uint8_t key[16], const void *data, size_t len)
{
    return siphash_cd(key, data, len, 1, 3);
}

uint64_t rp_ps_siphash24(const uint8_t key[16], const void *data, size_t len)
{
    return siphash_cd(key, data, len, 2, 4);
}
