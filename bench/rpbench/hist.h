// SPDX-License-Identifier: BSD-3-Clause
// Latency histogram with log-linear buckets: each power of two is split into
// 64 linear sub-buckets, so a recorded value is kept within 1/64 (1.6%) of
// its true size from 1 ns to 2^40 ns (18 minutes), in 26 KiB.

#ifndef RPBENCH_HIST_H
#define RPBENCH_HIST_H

#include <stdint.h>
#include <stdio.h>

#define HIST_SUB_BITS 6
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_MAGNITUDES 41
#define HIST_BUCKETS (HIST_MAGNITUDES * HIST_SUB)

struct hist {
    uint64_t counts[HIST_BUCKETS];
    uint64_t total;
    uint64_t min;
    uint64_t max;
    double sum;
};

void hist_init(struct hist *h);
void hist_record(struct hist *h, uint64_t value);
void hist_merge(struct hist *into, const struct hist *from);

// Returns the value at quantile q (0..1): the upper edge of the bucket that
// holds it, so percentiles are never understated. 0 for an empty histogram.
uint64_t hist_quantile(const struct hist *h, double q);

// Writes "upper_ns,count,cumulative_fraction" rows for non-empty buckets.
void hist_write_csv(const struct hist *h, FILE *out);

#endif
