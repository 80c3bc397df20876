/*
 * rng.h - the small deterministic PRNG of data/: samplers (permutations), augmentations (one
 * generator per sample) and the loader seed from it, never from libtorch's generator, so data
 * order and augmentations depend only on the seeds given, not on threads or on libtorch state.
 *
 * Owns: xoshiro256** (Blackman & Vigna) seeded through splitmix64, and derivation of independent
 * streams from a tuple of keys (seed, tag, epoch, ...): the same keys always give the same stream.
 * Header-only (static inline); a prng is a plain value, copy it to save its state.
 */
#ifndef PICTOR_DATA_RNG_H
#define PICTOR_DATA_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} prng;

/* One step of splitmix64: advances *x and returns a well-mixed 64-bit value. */
static inline uint64_t prng_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A stream from n keys (order matters). Distinct key tuples give unrelated streams. */
static inline void prng_seed_keys(prng *r, const uint64_t *keys, int n)
{
    uint64_t x = 0x6A09E667F3BCC908ull;
    for (int i = 0; i < n; i++) {
        uint64_t k = keys[i] ^ prng_splitmix64(&x);
        x ^= prng_splitmix64(&k);
    }
    for (int i = 0; i < 4; i++)
        r->s[i] = prng_splitmix64(&x);
}

static inline void prng_seed(prng *r, uint64_t seed)
{
    prng_seed_keys(r, &seed, 1);
}

static inline uint64_t prng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* Next 64 random bits (xoshiro256**). */
static inline uint64_t prng_next(prng *r)
{
    uint64_t *s = r->s;
    uint64_t result = prng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = prng_rotl(s[3], 45);
    return result;
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double prng_uniform(prng *r)
{
    return (double)(prng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform double in [lo, hi) (lo when hi <= lo). */
static inline double prng_range(prng *r, double lo, double hi)
{
    return hi > lo ? lo + (hi - lo) * prng_uniform(r) : lo;
}

/* Uniform integer in [0, n), unbiased (rejection); 0 when n == 0. */
static inline uint64_t prng_below(prng *r, uint64_t n)
{
    if (n == 0)
        return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n; /* largest multiple of n, exclusive */
    uint64_t x;
    do
        x = prng_next(r);
    while (x >= limit);
    return x % n;
}

/* 1 with probability p (p <= 0 never draws: the stream is not advanced). */
static inline int prng_chance(prng *r, double p)
{
    if (p <= 0.0)
        return 0;
    return prng_uniform(r) < p;
}

#endif
