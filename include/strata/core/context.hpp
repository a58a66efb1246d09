// strata/core/context.hpp — the per-batch context that travels with forward and backward.
//
// It carries what is data rather than architecture: the batch size (≤ the model's
// capacity), each sample's valid length for sequence layers (≤ T_max; positions at or
// beyond it are padding, which every sequence layer ignores on input and zeroes on output),
// the longest valid length in the batch (loops run to it, not to T_max), whether the model
// is training (dropout on), and the seeded RNG that dropout draws from.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "strata/core/error.hpp"
#include "strata/core/rng.hpp"

namespace strata {

struct Context {
    std::size_t batch = 0;
    // Host memory, batch entries; empty for models without sequence layers.
    std::span<const std::int32_t> lengths{};
    std::size_t max_length = 0;
    bool training = false;
    Rng* rng = nullptr;

    // A context for a batch of fixed-size samples (no sequence lengths).
    static Context dense(std::size_t batch, bool training = false, Rng* rng = nullptr) {
        Context ctx;
        ctx.batch = batch;
        ctx.training = training;
        ctx.rng = rng;
        return ctx;
    }

    // A context for a batch of sequences; validates every length against [1, max_time].
    static Context sequences(std::span<const std::int32_t> lengths, std::size_t max_time,
                             bool training = false, Rng* rng = nullptr) {
        Context ctx;
        ctx.batch = lengths.size();
        ctx.lengths = lengths;
        ctx.training = training;
        ctx.rng = rng;
        for (std::size_t b = 0; b < lengths.size(); ++b) {
            const auto length = lengths[b];
            require(length >= 1 && static_cast<std::size_t>(length) <= max_time,
                    "strata::Context: length ", length, " of sample ", b, " is outside [1, ", max_time, "]");
            ctx.max_length = std::max(ctx.max_length, static_cast<std::size_t>(length));
        }
        return ctx;
    }

    // Valid length of sample b (the whole time extent when there are no lengths).
    std::size_t length(std::size_t b, std::size_t max_time) const {
        return lengths.empty() ? max_time : static_cast<std::size_t>(lengths[b]);
    }
    std::size_t time_steps(std::size_t max_time) const {
        return lengths.empty() ? max_time : max_length;
    }
};

}  // namespace strata
