// strata/backend/cpu/sequence_ops.hpp — the CPU backend's operations for embedding gathers
// and scatter-adds, conv1d (row packing, weight repacking, fused epilogues), pooling over
// time and layer norm.
//
// Conventions shared by every operation here:
// * Sequences are batch-major [batch, t_max, F] row-major. `lengths` is a host array of
//   `batch` valid lengths in [1, t_max], or nullptr for "every sample is full length".
//   Positions t ≥ length are padding: never read on input, written as 0 on output.
// * Feature sizes are template arguments (the layers know them at compile time), so inner
//   loops over features have fixed trip counts the compiler unrolls and vectorises.
// * Threads: OpenMP over samples (or over feature columns for the embedding scatter-add),
//   only above parallel_threshold elements. Every output element has exactly one writer
//   and every reduction runs in a fixed order that does not depend on the thread count,
//   so results are bit-identical for any thread count.
// * Loops write through local row buffers (or __restrict rows) so that GCC's -O2
//   vectoriser, which will not add run-time alias checks, still vectorises them.
// * Nothing here allocates.
//
// "Packed rows" (conv1d): the valid rows of all samples stacked, each sample followed by
// `gap` zero rows and the first one preceded by `gap` zero rows:
//     [0]*gap, x[0, 0..L0), [0]*gap, x[1, 0..L1), [0]*gap, ..., x[B-1, 0..L_{B-1}), [0]*gap
// row_base[b] = gap + Σ_{b'<b} (L_b' + gap) is where sample b starts, and row_base[batch]
// is the total row count. With gap = Kernel/2, a kernel centred on any valid row sees only
// its own sample's rows or zeros, so a whole batch convolves as Kernel shifted GEMMs over
// one contiguous matrix.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "strata/backend/cpu/gemm.hpp"
#include "strata/core/activation.hpp"

// Loops over samples fork threads only when `threaded` (enough work to pay for a parallel
// region: small batches stay on the calling thread); see parallel_for in cpu/gemm.hpp.
#if defined(_OPENMP)
#include <omp.h>
#endif

namespace strata {

struct CpuSequenceOps {
    // Elements below which a loop stays on one thread.
    static constexpr std::size_t parallel_threshold = std::size_t{1} << 15;

    // Valid length of sample b (t_max when lengths is null).
    static std::size_t valid_length(const std::int32_t* lengths, std::size_t b, std::size_t t_max) {
        return lengths ? static_cast<std::size_t>(lengths[b]) : t_max;
    }

    // y[0..N) += x[0..N); the two rows do not overlap.
    template <std::size_t N, class T>
    static void add_row(const T* __restrict x, T* __restrict y) {
        for (std::size_t c = 0; c < N; ++c) y[c] += x[c];
    }

    // ---- embedding -----------------------------------------------------------------------
    // The flat index b·t_max + t of the first id outside [0, vocabulary) at a valid
    // position, or -1 when every valid id is in range. Padded positions are not read.
    static std::ptrdiff_t find_invalid_token(std::size_t batch, std::size_t t_max, const std::int32_t* lengths,
                                             const std::int32_t* ids, std::size_t vocabulary) {
        for (std::size_t b = 0; b < batch; ++b) {
            const std::size_t length = valid_length(lengths, b, t_max);
            const std::int32_t* row = ids + b * t_max;
            for (std::size_t t = 0; t < length; ++t)
                if (row[t] < 0 || static_cast<std::size_t>(row[t]) >= vocabulary)
                    return static_cast<std::ptrdiff_t>(b * t_max + t);
        }
        return -1;
    }

    // out[b, t, :] = weight[ids[b, t], :] for t < L_b, 0 after. Ids must be valid.
    template <std::size_t Dim, class T>
    static void embedding_gather(std::size_t batch, std::size_t t_max, const std::int32_t* lengths,
                                 const std::int32_t* ids, const T* weight, T* out) {
        [[maybe_unused]] const bool threaded = batch * t_max * Dim >= parallel_threshold;
        parallel_for(static_cast<std::ptrdiff_t>(batch), threaded, [&](std::ptrdiff_t sb) {
            const auto b = static_cast<std::size_t>(sb);
            const std::size_t length = valid_length(lengths, b, t_max);
            T* sample = out + b * t_max * Dim;
            for (std::size_t t = 0; t < length; ++t)
                std::memcpy(sample + t * Dim, weight + static_cast<std::size_t>(ids[b * t_max + t]) * Dim,
                            Dim * sizeof(T));
            std::fill(sample + length * Dim, sample + t_max * Dim, T(0));
        });
    }

    // weight_gradient[ids[b, t], :] += d_out[b, t, :] for t < L_b and ids[b, t] ≠ padding_id
    // (padding_id < 0: none). Repeated ids accumulate. Threads split the Dim columns into
    // contiguous chunks (whole cache lines), and every column is summed in token order: no
    // races, and the result is the same for any thread count.
    template <std::size_t Dim, class T>
    static void embedding_scatter_add(std::size_t batch, std::size_t t_max, const std::int32_t* lengths,
                                      const std::int32_t* ids, std::int32_t padding_id, const T* d_out,
                                      T* weight_gradient) {
        constexpr std::size_t line = 64 / sizeof(T) > 0 ? 64 / sizeof(T) : 1;
        [[maybe_unused]] const bool threaded = batch * t_max * Dim >= parallel_threshold;
        std::size_t threads = 1;
#if defined(_OPENMP)
        if (threaded) threads = static_cast<std::size_t>(omp_get_max_threads());
#endif
        // Chunks of whole cache lines, at most one per thread (one chunk: whole rows).
        const std::size_t lines = (Dim + line - 1) / line;
        const std::size_t chunk = ((lines + threads - 1) / threads) * line;
        const std::size_t chunks = (Dim + chunk - 1) / chunk;
        parallel_for(static_cast<std::ptrdiff_t>(chunks), threaded, [&](std::ptrdiff_t schunk) {
            const std::size_t begin = static_cast<std::size_t>(schunk) * chunk;
            const std::size_t end = std::min(Dim, begin + chunk);
            for (std::size_t b = 0; b < batch; ++b) {
                const std::size_t length = valid_length(lengths, b, t_max);
                for (std::size_t t = 0; t < length; ++t) {
                    const std::int32_t id = ids[b * t_max + t];
                    if (id == padding_id) continue;
                    T* row = weight_gradient + static_cast<std::size_t>(id) * Dim;
                    const T* source = d_out + (b * t_max + t) * Dim;
                    if (end - begin == Dim) {
                        add_row<Dim>(source, row);
                    } else {
                        for (std::size_t c = begin; c < end; ++c) row[c] += source[c];
                    }
                }
            }
        });
    }

    // The distinct ids ≠ padding_id at valid positions, ascending, written to rows; returns
    // their count. `seen` (vocabulary bytes) must be all zero on entry and is left so.
    static std::size_t collect_touched_rows(std::size_t batch, std::size_t t_max, const std::int32_t* lengths,
                                            const std::int32_t* ids, std::int32_t padding_id,
                                            std::uint8_t* seen, std::size_t vocabulary, std::int32_t* rows) {
        std::size_t distinct = 0;
        for (std::size_t b = 0; b < batch; ++b) {
            const std::size_t length = valid_length(lengths, b, t_max);
            for (std::size_t t = 0; t < length; ++t) {
                const std::int32_t id = ids[b * t_max + t];
                if (id != padding_id && !seen[id]) {
                    seen[id] = 1;
                    ++distinct;
                }
            }
        }
        std::size_t count = 0;
        for (std::size_t id = 0; id < vocabulary && count < distinct;) {
            std::uint64_t word = 0;  // skip 8 unseen ids at a time
            if (id + 8 <= vocabulary && (std::memcpy(&word, seen + id, 8), word == 0)) {
                id += 8;
                continue;
            }
            if (seen[id]) {
                seen[id] = 0;
                rows[count++] = static_cast<std::int32_t>(id);
            }
            ++id;
        }
        return count;
    }

    // ---- packed rows (conv1d) --------------------------------------------------------------
    // Stacks the valid rows of x [batch, t_max, F] into packed (see the top of this file),
    // zeroing the gap rows. Every packed row is written.
    template <std::size_t F, class T>
    static void pack_sequence_rows(std::size_t batch, std::size_t t_max, const std::int32_t* lengths,
                                   const std::size_t* row_base, std::size_t gap, const T* x, T* packed) {
        std::fill(packed, packed + gap * F, T(0));
        [[maybe_unused]] const bool threaded = batch * t_max * F >= parallel_threshold;
        parallel_for(static_cast<std::ptrdiff_t>(batch), threaded, [&](std::ptrdiff_t sb) {
            const auto b = static_cast<std::size_t>(sb);
            const std::size_t length = valid_length(lengths, b, t_max);
            T* destination = packed + row_base[b] * F;
            std::memcpy(destination, x + b * t_max * F, length * F * sizeof(T));
            std::fill(destination + length * F, destination + (length + gap) * F, T(0));
        });
    }

    // The backward twin of the fused epilogue below: packed[row_base[b] + t] =
    // d_out[b, t] ⊙ f'(y[b, t]) for t < L_b (f' written through the output y, as
    // Cpu::activation_backward), gap rows zeroed.
    template <std::size_t F, class T>
    static void pack_sequence_rows_activation_backward(std::size_t batch, std::size_t t_max,
                                                       const std::int32_t* lengths, const std::size_t* row_base,
                                                       std::size_t gap, Activation activation, const T* y,
                                                       const T* d_out, T* packed) {
        std::fill(packed, packed + gap * F, T(0));
        [[maybe_unused]] const bool threaded = batch * t_max * F >= parallel_threshold;
        parallel_for(static_cast<std::ptrdiff_t>(batch), threaded, [&](std::ptrdiff_t sb) {
            const auto b = static_cast<std::size_t>(sb);
            const std::size_t length = valid_length(lengths, b, t_max);
            const std::size_t count = length * F;
            T* destination = packed + row_base[b] * F;
            const T* dy = d_out + b * t_max * F;
            const T* out = y + b * t_max * F;
            // Row by row through a local buffer: no aliasing for the vectoriser to fear.
            auto rows = [&](auto derivative) {
                for (std::size_t t = 0; t < length; ++t) {
                    T row[F];
                    for (std::size_t c = 0; c < F; ++c) row[c] = derivative(out[t * F + c], dy[t * F + c]);
                    std::memcpy(destination + t * F, row, sizeof row);
                }
            };
            switch (activation) {
                case Activation::identity:
                    std::memcpy(destination, dy, count * sizeof(T));
                    break;
                case Activation::relu:
                    rows([](T value, T gradient) { return value > T(0) ? gradient : T(0); });
                    break;
                case Activation::tanh:
                    rows([](T value, T gradient) { return gradient * (T(1) - value * value); });
                    break;
                case Activation::sigmoid:
                    rows([](T value, T gradient) { return gradient * value * (T(1) - value); });
                    break;
            }
            std::fill(destination + count, destination + count + gap * F, T(0));
        });
    }

    // The fused epilogue: out[b, t] = f(packed[row_base[b] + t] + bias) for t < L_b and 0
    // for t ≥ L_b (bias may be null: no bias). One pass over the output.
    template <std::size_t F, class T>
    static void unpack_sequence_rows(std::size_t batch, std::size_t t_max, const std::int32_t* lengths,
                                     const std::size_t* row_base, const T* packed, const T* bias,
                                     Activation activation, T* out) {
        [[maybe_unused]] const bool threaded = batch * t_max * F >= parallel_threshold;
        parallel_for(static_cast<std::ptrdiff_t>(batch), threaded, [&](std::ptrdiff_t sb) {
            const auto b = static_cast<std::size_t>(sb);
            const std::size_t length = valid_length(lengths, b, t_max);
            const T* source = packed + row_base[b] * F;
            T* destination = out + b * t_max * F;
            auto rows = [&](auto f) {
                for (std::size_t t = 0; t < length; ++t) {
                    const T* z = source + t * F;
                    T row[F];
                    if (bias) {
                        for (std::size_t c = 0; c < F; ++c) row[c] = f(z[c] + bias[c]);
                    } else {
                        for (std::size_t c = 0; c < F; ++c) row[c] = f(z[c]);
                    }
                    std::memcpy(destination + t * F, row, sizeof row);
                }
            };
            switch (activation) {
                case Activation::identity:
                    rows([](T z) { return z; });
                    break;
                case Activation::relu:
                    rows([](T z) { return z > T(0) ? z : T(0); });
                    break;
                case Activation::tanh:
                    rows([](T z) { return std::tanh(z); });
                    break;
                case Activation::sigmoid:
                    rows([](T z) {
                        if (z >= T(0)) return T(1) / (T(1) + std::exp(-z));
                        const T e = std::exp(z);
                        return e / (T(1) + e);
                    });
                    break;
            }
            std::fill(destination + length * F, destination + t_max * F, T(0));
        });
    }

    // PyTorch's Conv1d weight [Out, In, K] → W' [Out, K·In]: taps[o, k·In + i] = weight[o, i, k]
    // (the weight of an im2col row [x_t | x_{t+1} | …]).
    template <std::size_t Out, std::size_t In, std::size_t K, class T>
    static void conv1d_split_taps(const T* weight, T* taps) {
        for (std::size_t o = 0; o < Out; ++o)
            for (std::size_t i = 0; i < In; ++i)
                for (std::size_t k = 0; k < K; ++k) taps[(o * K + k) * In + i] = weight[(o * In + i) * K + k];
    }
    // weight_gradient[o, i, k] += tap_gradients[o, k·In + i] (the inverse of conv1d_split_taps,
    // accumulating).
    template <std::size_t Out, std::size_t In, std::size_t K, class T>
    static void conv1d_accumulate_taps(const T* tap_gradients, T* weight_gradient) {
        for (std::size_t o = 0; o < Out; ++o)
            for (std::size_t i = 0; i < In; ++i)
                for (std::size_t k = 0; k < K; ++k)
                    weight_gradient[(o * In + i) * K + k] += tap_gradients[(o * K + k) * In + i];
    }

    // ---- pooling over time -------------------------------------------------------------------
    // out[b] = (1/L_b) Σ_{t<L_b} x[b, t]
    template <std::size_t F, class T>
    static void mean_pool_forward(std::size_t batch, std::size_t t_max, const std::int32_t* lengths, const T* x,
                                  T* out) {
        [[maybe_unused]] const bool threaded = batch * t_max * F >= parallel_threshold;
        parallel_for(static_cast<std::ptrdiff_t>(batch), threaded, [&](std::ptrdiff_t sb) {
            const auto b = static_cast<std::size_t>(sb);
            const std::size_t length = valid_length(lengths, b, t_max);
            const T* sample = x + b * t_max * F;
            T sum[F];
            for (std::size_t c = 0; c < F; ++c) sum[c] = sample[c];
            for (std::size_t t = 1; t < length; ++t)
                for (std::size_t c = 0; c < F; ++c) sum[c] += sample[t * F + c];
            const T inverse = T(1) / static_cast<T>(length);
            for (std::size_t c = 0; c < F; ++c) out[b * F + c] = sum[c] * inverse;
        });
    }
    // d_x[b, t] = d_out[b] / L_b for t < L_b, 0 after.
    template <std::size_t F, class T>
    static void mean_pool_backward(std::size_t batch, std::size_t t_max, const std::int32_t* lengths,
                                   const T* d_out, T* d_x) {
        [[maybe_unused]] const bool threaded = batch * t_max * F >= parallel_threshold;
        parallel_for(static_cast<std::ptrdiff_t>(batch), threaded, [&](std::ptrdiff_t sb) {
            const auto b = static_cast<std::size_t>(sb);
            const std::size_t length = valid_length(lengths, b, t_max);
            const T inverse = T(1) / static_cast<T>(length);
            T* sample = d_x + b * t_max * F;
            T row[F];
            for (std::size_t c = 0; c < F; ++c) row[c] = d_out[b * F + c] * inverse;
            for (std::size_t t = 0; t < length; ++t) std::memcpy(sample + t * F, row, sizeof row);
            std::fill(sample + length * F, sample + t_max * F, T(0));
        });
    }
    // out[b, c] = max_{t<L_b} x[b, t, c]; argmax[b, c] = the first t reaching it.
    template <std::size_t F, class T>
    static void max_pool_forward(std::size_t batch, std::size_t t_max, const std::int32_t* lengths, const T* x,
                                 T* out, std::int32_t* argmax) {
        [[maybe_unused]] const bool threaded = batch * t_max * F >= parallel_threshold;
        parallel_for(static_cast<std::ptrdiff_t>(batch), threaded, [&](std::ptrdiff_t sb) {
            const auto b = static_cast<std::size_t>(sb);
            const std::size_t length = valid_length(lengths, b, t_max);
            const T* sample = x + b * t_max * F;
            // Two vectorisable passes: the maxima, then (scanning backwards, so the first
            // index wins ties) where they are. The index is kept as T (exact below 2^24
            // steps) so the select vectorises.
            T best[F];
            T where[F];
            for (std::size_t c = 0; c < F; ++c) {
                best[c] = sample[c];
                where[c] = T(0);
            }
            for (std::size_t t = 1; t < length; ++t) {
                const T* row = sample + t * F;
                for (std::size_t c = 0; c < F; ++c) best[c] = row[c] > best[c] ? row[c] : best[c];
            }
            for (std::size_t t = length; t-- > 0;) {
                const T* row = sample + t * F;
                const T step = static_cast<T>(t);
                for (std::size_t c = 0; c < F; ++c) where[c] = row[c] == best[c] ? step : where[c];
            }
            for (std::size_t c = 0; c < F; ++c) argmax[b * F + c] = static_cast<std::int32_t>(where[c]);
            std::copy_n(best, F, out + b * F);
        });
    }
    // d_x[b, t, c] = d_out[b, c] where t = argmax[b, c], 0 elsewhere.
    template <std::size_t F, class T>
    static void max_pool_backward(std::size_t batch, std::size_t t_max, const std::int32_t* argmax,
                                  const T* d_out, T* d_x) {
        [[maybe_unused]] const bool threaded = batch * t_max * F >= parallel_threshold;
        parallel_for(static_cast<std::ptrdiff_t>(batch), threaded, [&](std::ptrdiff_t sb) {
            const auto b = static_cast<std::size_t>(sb);
            T* sample = d_x + b * t_max * F;
            std::fill(sample, sample + t_max * F, T(0));
            for (std::size_t c = 0; c < F; ++c)
                sample[static_cast<std::size_t>(argmax[b * F + c]) * F + c] = d_out[b * F + c];
        });
    }
    // out[b] = x[b, L_b - 1]
    template <std::size_t F, class T>
    static void last_pool_forward(std::size_t batch, std::size_t t_max, const std::int32_t* lengths, const T* x,
                                  T* out) {
        for (std::size_t b = 0; b < batch; ++b)
            std::memcpy(out + b * F, x + (b * t_max + valid_length(lengths, b, t_max) - 1) * F, F * sizeof(T));
    }
    // d_x[b, L_b - 1] = d_out[b], 0 elsewhere.
    template <std::size_t F, class T>
    static void last_pool_backward(std::size_t batch, std::size_t t_max, const std::int32_t* lengths,
                                   const T* d_out, T* d_x) {
        [[maybe_unused]] const bool threaded = batch * t_max * F >= parallel_threshold;
        parallel_for(static_cast<std::ptrdiff_t>(batch), threaded, [&](std::ptrdiff_t sb) {
            const auto b = static_cast<std::size_t>(sb);
            T* sample = d_x + b * t_max * F;
            std::fill(sample, sample + t_max * F, T(0));
            std::memcpy(sample + (valid_length(lengths, b, t_max) - 1) * F, d_out + b * F, F * sizeof(T));
        });
    }

    // Σ_c values[c] over D values, in 16 interleaved partial sums combined pairwise: a
    // fixed order (deterministic) that the compiler can vectorise, unlike a serial sum.
    template <std::size_t D, class T>
    static T lane_sum(const T* values) {
        constexpr std::size_t lanes = 16;
        T partial[lanes] = {};
        std::size_t c = 0;
        for (; c + lanes <= D; c += lanes)
            for (std::size_t l = 0; l < lanes; ++l) partial[l] += values[c + l];
        for (std::size_t l = 0; c + l < D; ++l) partial[l] += values[c + l];
        for (std::size_t width = lanes / 2; width > 0; width /= 2)
            for (std::size_t l = 0; l < width; ++l) partial[l] += partial[l + width];
        return partial[0];
    }

    // ---- layer norm ------------------------------------------------------------------------
    // Each sample holds `steps` time steps of `rows_per_step` rows of D values; the steps
    // t ≥ L_b are padding (lengths null: none). For every valid row x:
    //     μ = mean(x),  σ² = mean((x - μ)²) (biased, as PyTorch),  r = 1/√(σ² + ε)
    //     y = (x - μ)·r ⊙ γ + β
    // and mean[row] = μ, inverse_std[row] = r are kept for backward. Padded rows: y = 0.
    template <std::size_t D, class T>
    static void layer_norm_forward(std::size_t batch, std::size_t steps, std::size_t rows_per_step,
                                   const std::int32_t* lengths, const T* x, const T* gamma, const T* beta,
                                   T epsilon, T* y, T* mean, T* inverse_std) {
        const std::size_t rows_per_sample = steps * rows_per_step;
        [[maybe_unused]] const bool threaded = batch * steps * rows_per_step * D >= parallel_threshold;
        parallel_for(static_cast<std::ptrdiff_t>(batch), threaded, [&](std::ptrdiff_t sb) {
            const auto b = static_cast<std::size_t>(sb);
            const std::size_t valid_rows = valid_length(lengths, b, steps) * rows_per_step;
            for (std::size_t r = 0; r < valid_rows; ++r) {
                const std::size_t row = b * rows_per_sample + r;
                const T* in = x + row * D;
                T* out = y + row * D;
                // Local rows throughout: nothing aliases, so every loop vectorises.
                const T mu = lane_sum<D>(in) / static_cast<T>(D);
                T centred[D], squares[D], result[D];
                for (std::size_t c = 0; c < D; ++c) {
                    centred[c] = in[c] - mu;
                    squares[c] = centred[c] * centred[c];
                }
                const T inverse = T(1) / std::sqrt(lane_sum<D>(squares) / static_cast<T>(D) + epsilon);
                for (std::size_t c = 0; c < D; ++c) result[c] = centred[c] * inverse * gamma[c] + beta[c];
                std::memcpy(out, result, sizeof result);
                mean[row] = mu;
                inverse_std[row] = inverse;
            }
            std::fill(y + (b * rows_per_sample + valid_rows) * D, y + (b + 1) * rows_per_sample * D, T(0));
        });
    }
    // With x̂ = (x - μ)·r and g = dy ⊙ γ, per valid row:
    //     dx = r · (g - mean(g) - x̂ · mean(g ⊙ x̂))        (d_x may be null: skipped)
    //     dγ += Σ_rows dy ⊙ x̂,   dβ += Σ_rows dy
    // Padded rows: dx = 0. The parameter sums go through per-sample partials
    // (partials: batch × 2D scratch) added in sample order: deterministic for any thread
    // count.
    template <std::size_t D, class T>
    static void layer_norm_backward(std::size_t batch, std::size_t steps, std::size_t rows_per_step,
                                    const std::int32_t* lengths, const T* x, const T* gamma, const T* mean,
                                    const T* inverse_std, const T* d_y, T* d_x, T* partials, T* d_gamma,
                                    T* d_beta) {
        const std::size_t rows_per_sample = steps * rows_per_step;
        [[maybe_unused]] const bool threaded = batch * steps * rows_per_step * D >= parallel_threshold;
        parallel_for(static_cast<std::ptrdiff_t>(batch), threaded, [&](std::ptrdiff_t sb) {
            const auto b = static_cast<std::size_t>(sb);
            const std::size_t valid_rows = valid_length(lengths, b, steps) * rows_per_step;
            T gamma_sum[D] = {}, beta_sum[D] = {};
            for (std::size_t r = 0; r < valid_rows; ++r) {
                const std::size_t row = b * rows_per_sample + r;
                const T* in = x + row * D;
                const T* dy = d_y + row * D;
                const T mu = mean[row], inverse = inverse_std[row];
                T normalized[D];
                T g[D];
                T g_normalized[D];
                for (std::size_t c = 0; c < D; ++c) {
                    normalized[c] = (in[c] - mu) * inverse;
                    g[c] = dy[c] * gamma[c];
                    g_normalized[c] = g[c] * normalized[c];
                    gamma_sum[c] += dy[c] * normalized[c];
                    beta_sum[c] += dy[c];
                }
                const T sum_g = lane_sum<D>(g), sum_g_normalized = lane_sum<D>(g_normalized);
                if (d_x) {
                    const T mean_g = sum_g / static_cast<T>(D), mean_g_normalized = sum_g_normalized / static_cast<T>(D);
                    T dx[D];
                    for (std::size_t c = 0; c < D; ++c)
                        dx[c] = inverse * (g[c] - mean_g - normalized[c] * mean_g_normalized);
                    std::memcpy(d_x + row * D, dx, sizeof dx);
                }
            }
            std::memcpy(partials + b * 2 * D, gamma_sum, sizeof gamma_sum);
            std::memcpy(partials + b * 2 * D + D, beta_sum, sizeof beta_sum);
            if (d_x) std::fill(d_x + (b * rows_per_sample + valid_rows) * D, d_x + (b + 1) * rows_per_sample * D, T(0));
        });
        for (std::size_t b = 0; b < batch; ++b) {
            const T* gamma_sum = partials + b * 2 * D;
            const T* beta_sum = gamma_sum + D;
            for (std::size_t c = 0; c < D; ++c) {
                d_gamma[c] += gamma_sum[c];
                d_beta[c] += beta_sum[c];
            }
        }
    }
};

}  // namespace strata

