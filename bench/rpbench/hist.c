// SPDX-License-Identifier: BSD-3-Clause
// Log-linear latency histogram (see hist.h).

#include <string.h>

#include "hist.h"

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

// Bucket index: values below HIST_SUB map one to one; above, the magnitude
// (position of the top bit) picks a block of HIST_SUB buckets and the next
// HIST_SUB_BITS bits pick the bucket inside it.
static unsigned bucket_of(uint64_t v)
{
    if (v < HIST_SUB)
        return (unsigned)v;

    unsigned top = 63u - (unsigned)__builtin_clzll(v);
    unsigned magnitude = top - HIST_SUB_BITS + 1;
    if (magnitude >= HIST_MAGNITUDES)
        return HIST_BUCKETS - 1;
    unsigned sub = (unsigned)(v >> (top - HIST_SUB_BITS)) & (HIST_SUB - 1);
    return magnitude * HIST_SUB + sub;
}

static uint64_t bucket_upper(unsigned b)
{
    unsigned magnitude = b / HIST_SUB;
    unsigned sub = b % HIST_SUB;
    if (magnitude == 0)
        return sub;
    unsigned shift = magnitude - 1;
    return (((uint64_t)(HIST_SUB + sub + 1)) << shift) - 1;
}

void hist_record(struct hist *h, uint64_t value)
{
    h->counts[bucket_of(value)]++;
    h->total++;
    h->sum += (double)value;
    if (value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
}

void hist_merge(struct hist *into, const struct hist *from)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        into->counts[i] += from->counts[i];
    into->total += from->total;
    into->sum += from->sum;
    if (from->min < into->min)
        into->min = from->min;
    if (from->max > into->max)
        into->max = from->max;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
    if (h->total == 0)
        return 0;

    uint64_t rank = (uint64_t)(q * (double)h->total);
    if (rank >= h->total)
        rank = h->total - 1;

    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen > rank) {
            uint64_t upper = bucket_upper(i);
            return upper < h->max ? upper : h->max;
        }
    }
    return h->max;
}

void hist_write_csv(const struct hist *h, FILE *out)
{
    uint64_t seen = 0;
    fprintf(out, "upper_ns,count,cumulative\n");
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        if (h->counts[i] == 0)
            continue;
        seen += h->counts[i];
        fprintf(out, "%llu,%llu,%.6f\n", (unsigned long long)bucket_upper(i),
                (unsigned long long)h->counts[i], (double)seen / (double)h->total);
    }
}
