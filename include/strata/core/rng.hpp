// strata/core/rng.hpp — the one seeded random number generator.
//
// xoshiro256** seeded through splitmix64. Every random draw in strata (initialisation,
// dropout masks, shuffling) comes from an Rng the caller seeded, so a run with the same
// seed is bit-identical on the same machine and thread count. Draws are made on one
// thread, in a fixed order.
#pragma once

#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>

namespace strata {

class Rng {
public:
    explicit Rng(std::uint64_t seed = 0) { reseed(seed); }

    void reseed(std::uint64_t seed) {
        std::uint64_t x = seed;
        for (auto& word : state_) word = splitmix64(x);
        has_spare_normal_ = false;
    }

    std::uint64_t next_u64() {
        const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
        const std::uint64_t t = state_[1] << 17;
        state_[2] ^= state_[0];
        state_[3] ^= state_[1];
        state_[1] ^= state_[2];
        state_[0] ^= state_[3];
        state_[2] ^= t;
        state_[3] = rotl(state_[3], 45);
        return result;
    }

    // Uniform in [0, 1) with 53 random bits.
    double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
    // Uniform in [low, high).
    double uniform(double low, double high) { return low + (high - low) * uniform(); }

    // Standard normal (Box-Muller; the second value of each pair is kept for the next call).
    double normal() {
        if (has_spare_normal_) {
            has_spare_normal_ = false;
            return spare_normal_;
        }
        double u1 = 0.0;
        do { u1 = uniform(); } while (u1 <= 0.0);
        const double u2 = uniform();
        const double radius = std::sqrt(-2.0 * std::log(u1));
        const double angle = 6.283185307179586476925286766559 * u2;
        spare_normal_ = radius * std::sin(angle);
        has_spare_normal_ = true;
        return radius * std::cos(angle);
    }

    // Uniform integer in [0, bound), bound > 0, without modulo bias (rejection sampling).
    std::uint64_t below(std::uint64_t bound) {
        const std::uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
        for (;;) {
            const std::uint64_t value = next_u64();
            if (value >= threshold) return value % bound;
        }
    }

    // Fisher-Yates shuffle of a random-access range.
    template <class Range>
    void shuffle(Range& range) {
        using std::swap;
        const auto count = static_cast<std::uint64_t>(std::size(range));
        for (std::uint64_t i = count; i > 1; --i) {
            const std::uint64_t j = below(i);
            swap(range[i - 1], range[j]);
        }
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    static std::uint64_t splitmix64(std::uint64_t& x) {
        std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

    std::uint64_t state_[4]{};
    double spare_normal_ = 0.0;
    bool has_spare_normal_ = false;
};

}  // namespace strata
