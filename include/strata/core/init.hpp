// strata/core/init.hpp — PyTorch's default initialisations, drawn from one seeded Rng.
//
// Values are drawn on the host in a fixed order and copied to the backend's memory in
// chunks, so the same seed gives the same parameters on every backend.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>

#include "strata/core/rng.hpp"

namespace strata::init {

namespace detail {
template <class Backend, class T, class Draw>
void fill_with(T* destination, std::size_t count, Draw&& draw) {
    std::array<T, 256> chunk{};
    for (std::size_t start = 0; start < count; start += chunk.size()) {
        const std::size_t n = std::min(chunk.size(), count - start);
        for (std::size_t i = 0; i < n; ++i) chunk[i] = static_cast<T>(draw());
        Backend::copy_from_host(chunk.data(), n, destination + start);
    }
}
}  // namespace detail

// Uniform in [-bound, bound): PyTorch's default for Linear, Conv1d and GRU is bound = 1/√fan_in.
template <class Backend, class T>
void uniform(Rng& rng, double bound, T* destination, std::size_t count) {
    detail::fill_with<Backend>(destination, count, [&] { return rng.uniform(-bound, bound); });
}
// N(mean, std²): PyTorch's default for Embedding is N(0, 1).
template <class Backend, class T>
void normal(Rng& rng, double mean, double standard_deviation, T* destination, std::size_t count) {
    detail::fill_with<Backend>(destination, count, [&] { return mean + standard_deviation * rng.normal(); });
}
// Xavier/Glorot uniform: bound = √(6 / (fan_in + fan_out)).
template <class Backend, class T>
void xavier_uniform(Rng& rng, std::size_t fan_in, std::size_t fan_out, T* destination, std::size_t count) {
    uniform<Backend>(rng, std::sqrt(6.0 / static_cast<double>(fan_in + fan_out)), destination, count);
}
template <class Backend, class T>
void constant(T value, T* destination, std::size_t count) {
    Backend::fill(destination, count, value);
}

}  // namespace strata::init
