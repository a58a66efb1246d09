// strata/backend/cpu.hpp — the CPU backend: strata's own AVX2 GEMM kernels (picked at run
// time) and Eigen maps over tensor memory, and OpenMP.
//
// A backend is a policy type: layers call only its static operations, so a new backend
// (cuda/, a later header included only by nvcc-compiled code) plugs in without touching
// layer code. Every operation works on raw, contiguous, row-major memory owned by the
// caller; none allocates except allocate().
//
// Threads: set_num_threads(n) sets OpenMP's pool, which strata's own loops and its GEMM
// splitting use (Eigen itself always runs single-threaded: see cpu/gemm.hpp). Results
// are bit-identical for the same inputs and thread count: every reduction combines its
// partial results in a fixed order (and on strata's GEMM kernels, whatever the thread
// count: they sum in an order fixed by the shapes).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <type_traits>

#include <Eigen/Core>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "strata/backend/cpu/attention_ops.hpp"
#include "strata/backend/cpu/gemm.hpp"
#include "strata/backend/cpu/recurrent_ops.hpp"
#include "strata/backend/cpu/sequence_ops.hpp"
#include "strata/core/activation.hpp"
#include "strata/core/error.hpp"

namespace strata {

// The operations are grouped by the layers that need them (cpu/*.hpp); Cpu gathers them.
struct Cpu : CpuGemm, CpuSequenceOps, CpuRecurrentOps, CpuAttentionOps {
    static constexpr const char* name = "cpu";
    static constexpr std::size_t alignment = 64;

    // Runs work(begin, end) — or work(piece, begin, end) — over [0, count) split into one
    // contiguous chunk per OpenMP thread (multiples of 64 elements) when count is large
    // enough to be worth it, else as piece 0 on the calling thread. Chunk boundaries depend
    // only on count and the thread count.
    static constexpr int max_chunks = 64;
    template <class Work>
    static void for_chunks(std::size_t count, Work&& work) {
        auto run = [&](int piece, std::size_t begin, std::size_t end) {
            if constexpr (std::is_invocable_v<Work&, int, std::size_t, std::size_t>) work(piece, begin, end);
            else work(begin, end);
        };
        constexpr std::size_t parallel_threshold = std::size_t{1} << 16;
#ifdef _OPENMP
        const int threads = omp_in_parallel() ? 1 : std::min(max_chunks, omp_get_max_threads());
        if (threads > 1 && count >= parallel_threshold) {
            const std::size_t chunk = (count / static_cast<std::size_t>(threads) + 63) / 64 * 64;
            // Pieces dealt out by thread number (see cpu/gemm.hpp: no worksharing loop).
#pragma omp parallel num_threads(threads)
            for (int piece = omp_get_thread_num(); piece < threads; piece += omp_get_num_threads()) {
                const std::size_t begin = std::min(count, static_cast<std::size_t>(piece) * chunk);
                const std::size_t end = std::min(count, begin + chunk);
                if (begin < end) run(piece, begin, end);
            }
            return;
        }
#endif
        run(0, 0, count);
    }

    // ---- memory ------------------------------------------------------------------------
    template <class T>
    static T* allocate(std::size_t count) {
        if (count == 0) return nullptr;
        return static_cast<T*>(::operator new(count * sizeof(T), std::align_val_t{alignment}));
    }
    template <class T>
    static void deallocate(T* pointer, std::size_t) {
        ::operator delete(static_cast<void*>(pointer), std::align_val_t{alignment});
    }
    template <class T>
    static void fill(T* data, std::size_t count, T value) {
        for_chunks(count, [&](std::size_t begin, std::size_t end) { std::fill(data + begin, data + end, value); });
    }
    template <class T>
    static void copy(const T* source, std::size_t count, T* destination) {
        if (count) std::memcpy(destination, source, count * sizeof(T));
    }
    template <class T>
    static void copy_to_host(const T* source, std::size_t count, T* host) { copy(source, count, host); }
    template <class T>
    static void copy_from_host(const T* host, std::size_t count, T* destination) { copy(host, count, destination); }

    // ---- threads -----------------------------------------------------------------------
    static void set_num_threads(int threads) {
        require(threads >= 1, "strata::Cpu::set_num_threads: thread count must be ≥ 1, got ", threads);
#ifdef _OPENMP
        omp_set_num_threads(threads);
#endif
        Eigen::setNbThreads(1);  // strata splits products across threads itself (cpu/gemm.hpp)
    }
    static int num_threads() {
#ifdef _OPENMP
        return omp_get_max_threads();
#else
        return 1;
#endif
    }

    // ---- broadcasts and reductions over rows ----------------------------------------------
    // y[r, :] += bias for r < rows; y has leading dimension ld ≥ cols.
    template <class T>
    static void add_row_vector(std::size_t rows, std::size_t cols, const T* bias, T* y, std::size_t ld) {
        for (std::size_t r = 0; r < rows; ++r) {
            T* row = y + r * ld;
            for (std::size_t c = 0; c < cols; ++c) row[c] += bias[c];
        }
    }
    // sums[c] += Σ_r x[r, c] (accumulates; x has leading dimension ld ≥ cols).
    template <class T>
    static void accumulate_column_sums(std::size_t rows, std::size_t cols, const T* x, std::size_t ld,
                                       T* sums) {
        for (std::size_t r = 0; r < rows; ++r) {
            const T* row = x + r * ld;
            for (std::size_t c = 0; c < cols; ++c) sums[c] += row[c];
        }
    }

    // ---- element-wise ------------------------------------------------------------------
    // y = f(x); x and y may alias.
    template <class T>
    static void activation_forward(Activation kind, std::size_t count, const T* x, T* y) {
        switch (kind) {
            case Activation::identity:
                if (x != y) copy(x, count, y);
                break;
            case Activation::relu:
                for (std::size_t i = 0; i < count; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
                break;
            case Activation::tanh:
                for (std::size_t i = 0; i < count; ++i) y[i] = std::tanh(x[i]);
                break;
            case Activation::sigmoid:
                for (std::size_t i = 0; i < count; ++i) y[i] = sigmoid(x[i]);
                break;
        }
    }
    // dx = dy · f'(x), written through the output y = f(x) (relu: y > 0; tanh: 1 - y²;
    // sigmoid: y(1 - y)). dx may alias dy.
    template <class T>
    static void activation_backward(Activation kind, std::size_t count, const T* y, const T* dy, T* dx) {
        switch (kind) {
            case Activation::identity:
                if (dx != dy) copy(dy, count, dx);
                break;
            case Activation::relu:
                for (std::size_t i = 0; i < count; ++i) dx[i] = y[i] > T(0) ? dy[i] : T(0);
                break;
            case Activation::tanh:
                for (std::size_t i = 0; i < count; ++i) dx[i] = dy[i] * (T(1) - y[i] * y[i]);
                break;
            case Activation::sigmoid:
                for (std::size_t i = 0; i < count; ++i) dx[i] = dy[i] * y[i] * (T(1) - y[i]);
                break;
        }
    }
    template <class T>
    static T sigmoid(T x) {
        // Stable on both sides: never exponentiates a large positive number.
        if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
        const T e = std::exp(x);
        return e / (T(1) + e);
    }

    // y = x ⊙ mask · scale, where mask holds 0 or 1 (dropout with inverted scaling).
    template <class T>
    static void masked_scale(std::size_t count, const T* x, const std::uint8_t* mask, T scale, T* y) {
        for (std::size_t i = 0; i < count; ++i) y[i] = mask[i] ? x[i] * scale : T(0);
    }
    // y += alpha · x
    template <class T>
    static void axpy(std::size_t count, T alpha, const T* x, T* y) {
        for (std::size_t i = 0; i < count; ++i) y[i] += alpha * x[i];
    }
    // y += t · (x - y)
    template <class T>
    static void lerp(std::size_t count, T t, const T* x, T* y) {
        for_chunks(count, [&](std::size_t begin, std::size_t end) {
            for (std::size_t i = begin; i < end; ++i) y[i] += t * (x[i] - y[i]);
        });
    }
    template <class T>
    static void swap_ranges(std::size_t count, T* x, T* y) {
        std::swap_ranges(x, x + count, y);
    }
    template <class T>
    static void scale(std::size_t count, T alpha, T* x) {
        for_chunks(count, [&](std::size_t begin, std::size_t end) {
            for (std::size_t i = begin; i < end; ++i) x[i] *= alpha;
        });
    }
    // Σ x², accumulated in double (deterministic for a given thread count).
    template <class T>
    static double sum_of_squares(std::size_t count, const T* x) {
        // Per chunk, eight running sums in double (lane l takes the elements l apart by 8:
        // they vectorise, where one running sum is a chain of dependent adds), combined
        // pairwise; the chunks' sums added in order: the same result on every run with the
        // same thread count.
        std::array<double, max_chunks> partial{};
        for_chunks(count, [&](int piece, std::size_t begin, std::size_t end) {
            double lanes[8] = {};
            std::size_t i = begin;
            for (; i + 8 <= end; i += 8)
                for (std::size_t l = 0; l < 8; ++l) {
                    const double v = static_cast<double>(x[i + l]);
                    lanes[l] += v * v;
                }
            for (std::size_t l = 0; i < end; ++i, ++l) {
                const double v = static_cast<double>(x[i]);
                lanes[l] += v * v;
            }
            partial[static_cast<std::size_t>(piece)] =
                ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
        });
        double total = 0;
        for (double value : partial) total += value;
        return total;
    }
    // True when every value is finite.
    template <class T>
    static bool all_finite(std::size_t count, const T* x) {
        for (std::size_t i = 0; i < count; ++i)
            if (!std::isfinite(x[i])) return false;
        return true;
    }

    // ---- loss --------------------------------------------------------------------------
    // Softmax cross-entropy over `rows` rows of `classes` logits, with optional label
    // smoothing ε (target = (1-ε)·onehot + ε/classes, as PyTorch's label_smoothing).
    // Writes the probabilities, the gradient of the MEAN loss over rows into d_logits
    // (unless null), and returns the summed loss (accumulated in double).
    template <class T>
    static double softmax_cross_entropy(std::size_t rows, std::size_t classes, const T* logits,
                                        const std::int32_t* labels, T smoothing, T* probabilities,
                                        T* d_logits) {
        double total = 0.0;
        const T inverse_rows = T(1) / static_cast<T>(rows);
        for (std::size_t r = 0; r < rows; ++r) {
            const T* z = logits + r * classes;
            T* p = probabilities + r * classes;
            const T maximum = *std::max_element(z, z + classes);
            T sum = 0;
            for (std::size_t c = 0; c < classes; ++c) {
                p[c] = std::exp(z[c] - maximum);
                sum += p[c];
            }
            const T log_sum = std::log(sum);
            const auto label = static_cast<std::size_t>(labels[r]);
            double row_loss = 0.0;
            for (std::size_t c = 0; c < classes; ++c) {
                p[c] /= sum;
                const T target = (c == label ? T(1) - smoothing : T(0)) + smoothing / static_cast<T>(classes);
                const T log_p = z[c] - maximum - log_sum;
                row_loss -= static_cast<double>(target) * static_cast<double>(log_p);
                if (d_logits) d_logits[r * classes + c] = (p[c] - target) * inverse_rows;
            }
            total += row_loss;
        }
        return total;
    }

    // ---- optimizers (one loop over a flat parameter arena) -------------------------------
    // PyTorch's torch.optim.SGD: g += wd·p; buf = momentum ? (first ? g : μ·buf + (1-d)·g) : g;
    // g = nesterov ? g + μ·buf : buf; p -= lr·g.
    template <class T>
    static void sgd_step(std::size_t count, T* parameters, const T* gradients, T* momentum_buffer,
                         T learning_rate, T momentum, T dampening, T weight_decay, bool nesterov,
                         bool first_step) {
        for (std::size_t i = 0; i < count; ++i) {
            T g = gradients[i];
            if (weight_decay != T(0)) g += weight_decay * parameters[i];
            if (momentum != T(0)) {
                T& buffer = momentum_buffer[i];
                buffer = first_step ? g : momentum * buffer + (T(1) - dampening) * g;
                g = nesterov ? g + momentum * buffer : buffer;
            }
            parameters[i] -= learning_rate * g;
        }
    }
    // PyTorch's torch.optim.Adam / AdamW (single-tensor path), step t ≥ 1:
    //   decoupled (AdamW): p *= 1 - lr·wd;   else (Adam, L2): g += wd·p
    //   m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²
    //   p -= (lr / (1-β1^t)) · m / (√v / √(1-β2^t) + ε)
    // The scalar factors are formed in double and rounded once, as PyTorch forms them from
    // Python floats; the element-wise work is vectorised through Eigen arrays.
    template <class T>
    static void adam_step(std::size_t count, T* parameters, const T* gradients, T* first_moment,
                          T* second_moment, double learning_rate, double beta1, double beta2, double epsilon,
                          double weight_decay, bool decoupled_weight_decay, long step) {
        using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
        const double bias_correction1 = 1.0 - std::pow(beta1, static_cast<double>(step));
        const double bias_correction2 = 1.0 - std::pow(beta2, static_cast<double>(step));
        const T step_size = static_cast<T>(learning_rate / bias_correction1);
        const T bias_correction2_sqrt = static_cast<T>(std::sqrt(bias_correction2));
        const T b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2);
        const T one_minus_b1 = static_cast<T>(1.0 - beta1), one_minus_b2 = static_cast<T>(1.0 - beta2);
        const T eps = static_cast<T>(epsilon);
        const T decay = static_cast<T>(weight_decay);
        for_chunks(count, [&](std::size_t begin, std::size_t end) {
            const auto n = static_cast<Eigen::Index>(end - begin);
            Eigen::Map<Array> p(parameters + begin, n), m(first_moment + begin, n), v(second_moment + begin, n);
            const Eigen::Map<const Array> g(gradients + begin, n);
            if (weight_decay != 0.0 && decoupled_weight_decay) p *= static_cast<T>(1.0 - learning_rate * weight_decay);
            if (weight_decay != 0.0 && !decoupled_weight_decay) {
                m = m * b1 + (g + p * decay) * one_minus_b1;
                v = v * b2 + ((g + p * decay) * one_minus_b2) * (g + p * decay);
            } else {
                m = m * b1 + g * one_minus_b1;
                v = v * b2 + (g * one_minus_b2) * g;
            }
            p -= step_size * (m / (v.sqrt() / bias_correction2_sqrt + eps));
        });
    }
};

}  // namespace strata
