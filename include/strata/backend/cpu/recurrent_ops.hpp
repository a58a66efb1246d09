// strata/backend/cpu/recurrent_ops.hpp — the CPU backend's operations for recurrent layers
// (GRU): packing rows of padded sequences, and the fused GRU cell update and its gradient.
//
// Layout used by these operations (and by layers/gru.hpp): a batch of sequences is PACKED
// time-major, as PyTorch's PackedSequence does. The texts are ordered by length (longest
// first); at step t the n_t texts still running are rows [offset_t, offset_t + n_t) of a
// packed matrix, in that order, so the state matrix of the texts running at step t is a
// PREFIX of the one at step t - 1. Padded positions have no packed row at all.
//
// Gate layout: PyTorch's, rows r, z, n of every [3H] block. The cell cache keeps, per
// packed row, [r | z | n | hn | h_prev] (5H values), hn = W_hn·h_prev + b_hn.
//
// Every operation is element-wise per row (or a row copy), parallel over rows with OpenMP
// once a call has at least 32768 elements (one GRU step of a batch of 32 at H = 128 has
// 4096: it runs on one thread, since a fork/join per time step costs more than it saves);
// each output element has exactly one writer, so results do not depend on the thread count.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <Eigen/Core>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "strata/backend/cpu/gemm.hpp"

namespace strata {

struct CpuRecurrentOps {
    // ---- packing -----------------------------------------------------------------------
    // destination[r, :] = index[r] ≥ 0 ? source[index[r], :] : 0 for r < rows, Features
    // columns each; source and destination rows have leading dimensions source_ld and
    // destination_ld. Packs padded sequences (index = source row of each packed row),
    // unpacks them (index = packed row of each (b, t), -1 at padded positions, which are
    // written as 0), and picks final states.
    template <std::size_t Features, class T>
    static void recurrent_gather_rows(std::size_t rows, const std::int32_t* index, const T* source,
                                      std::size_t source_ld, T* destination, std::size_t destination_ld) {
        const auto count = static_cast<std::ptrdiff_t>(rows);
        parallel_for(count, rows * Features >= 32768, [&](std::ptrdiff_t r) {
            T* target = destination + static_cast<std::size_t>(r) * destination_ld;
            const std::int32_t from = index[r];
            if (from < 0) std::fill_n(target, Features, T(0));
            else std::copy_n(source + static_cast<std::size_t>(from) * source_ld, Features, target);
        });
    }

    // ---- the GRU recurrence (PyTorch's equations) ----------------------------------------
    // One step of a direction's schedule: the texts running at the step are packed rows
    // [row, row + rows); the first rows_with_state of them continue from the step whose
    // rows start at previous_row (the others start here, from h = 0).
    struct GruStep {
        std::size_t row, rows, rows_with_state, previous_row;
    };

    // Workspace (values of T) that gru_forward_recurrence and gru_backward_recurrence need.
    template <std::size_t Hidden, class T>
    static constexpr std::size_t gru_workspace_size() {
        return std::max(CpuGemm::packed_right_size<T>(Hidden, 3 * Hidden),
                        CpuGemm::packed_right_size<T>(3 * Hidden, Hidden));
    }

    // The recurrent part of one direction of a GRU layer, its steps in `schedule` order.
    // For each step and each running row i, with x̂ = input_projection[row + i] = W_ih·x (3H,
    // no bias) and, for i < rows_with_state, h_prev = output[previous_row + i] and
    // ĥ = W_hh·h_prev (3H, no bias); for the rows that start here h_prev = 0 and ĥ = 0:
    //
    //   ┌ r ┐   ┌ σ(x̂_r + b_ir + ĥ_r + b_hr)          ┐
    //   │ z │ = │ σ(x̂_z + b_iz + ĥ_z + b_hz)          │
    //   └ n ┘   └ tanh(x̂_n + b_in + r ⊙ (ĥ_n + b_hn))  ┘
    //   h = (1 - z) ⊙ n + z ⊙ h_prev = n + z ⊙ (h_prev - n)
    //
    // writes h to output[row + i] (leading dimension out_ld: output points at this
    // direction's columns) and [r | z | n | hn | h_prev] to cache[row + i] (5H),
    // hn = ĥ_n + b_hn. hidden_projection holds ĥ for one step ([rows, 3H]); workspace
    // holds gru_workspace_size values. packed_weight_hh, when not null, is W_hh already
    // packed (CpuGemm::pack_right_transposed(H, 3H, W_hh, H, ·)) and saves packing it here
    // (used only when H is a multiple of 16).
    //
    // Threads: one OpenMP region for the whole sequence (not a fork/join per step). Each
    // thread owns a block of hidden units (a multiple of 16) for every step: it computes
    // ĥ's r, z and n columns of its units (a GEMM against its rows of W_hh, packed once when
    // the batch has enough rows for packing to pay) and the cell update of its units, then
    // waits for the others at one barrier, since the next step reads all of h. Every value
    // is computed by the same kernels in the same order whatever the thread count.
    template <std::size_t Hidden, class T>
    static void gru_forward_recurrence(std::size_t steps, const GruStep* schedule, const T* input_projection,
                                       const T* weight_hh, const T* bias_ih, const T* bias_hh, T* output,
                                       std::size_t out_ld, T* cache, T* hidden_projection, T* workspace,
                                       const T* packed_weight_hh = nullptr) {
        constexpr std::size_t H = Hidden, G = 3 * Hidden, C = 5 * Hidden;
        // The packed panels are 16 columns wide: a gate's block of columns starts on a panel
        // only when H is a multiple of 16 (else every step multiplies by W_hh's rows).
        bool pack = false;
        std::size_t tokens = 0;
        for (std::size_t s = 0; s < steps; ++s) {
            pack = pack || CpuGemm::packing_pays(schedule[s].rows_with_state);
            tokens += schedule[s].rows;
        }
        pack = pack && H % 16 == 0;
        const T* packed = packed_weight_hh ? packed_weight_hh : workspace;
        run_over_units<Hidden>(2.0 * static_cast<double>(tokens) * G * H, [&](std::size_t u0, std::size_t u1, auto&& barrier) {
            if (pack && !packed_weight_hh)
                for (std::size_t g = 0; g < 3; ++g)
                    CpuGemm::pack_right_transposed(H, G, weight_hh, H, workspace, g * H + u0, u1 - u0);
            for (std::size_t k = 0; k < steps; ++k) {
                const GruStep s = schedule[k];
                const T* h_prev = output + s.previous_row * out_ld;
                const std::size_t M = s.rows_with_state;
                if (M > 0) {
                    for (std::size_t g = 0; g < 3; ++g) {
                        const std::size_t column = g * H + u0;
                        if (pack && CpuGemm::packing_pays(M))
                            CpuGemm::gemm_packed_serial(M, u1 - u0, H, h_prev, out_ld, packed, column, G, T(0),
                                                        hidden_projection + column, G);
                        else
                            CpuGemm::gemm_serial(Transpose::no, Transpose::yes, M, u1 - u0, H, T(1), h_prev, out_ld,
                                                 weight_hh + column * H, H, T(0), hidden_projection + column, G);
                    }
                }
                for (std::size_t i = 0; i < s.rows; ++i) {
                    const bool has_state = i < M;
                    for_unit_chunks<T>(u0, u1, [&](std::size_t u, Eigen::Index w, auto chunk) {
                        using Chunk = typename decltype(chunk)::type;
                        using ConstMap = Eigen::Map<const Chunk>;
                        using Map = Eigen::Map<Chunk>;
                        const T* x = input_projection + (s.row + i) * G + u;
                        T* c = cache + (s.row + i) * C + u;
                        Map r(c, w), z(c + H, w), n(c + 2 * H, w), hn(c + 3 * H, w), hp(c + 4 * H, w);
                        const ConstMap b_ir(bias_ih + u, w), b_iz(bias_ih + H + u, w), b_in(bias_ih + 2 * H + u, w);
                        const ConstMap b_hr(bias_hh + u, w), b_hz(bias_hh + H + u, w), b_hn(bias_hh + 2 * H + u, w);
                        if (has_state) {
                            const T* h = hidden_projection + i * G + u;
                            hn = ConstMap(h + 2 * H, w) + b_hn;
                            r = (ConstMap(x, w) + b_ir + ConstMap(h, w) + b_hr).logistic();
                            z = (ConstMap(x + H, w) + b_iz + ConstMap(h + H, w) + b_hz).logistic();
                            hp = ConstMap(h_prev + i * out_ld + u, w);
                        } else {
                            hn = b_hn;
                            r = (ConstMap(x, w) + b_ir + b_hr).logistic();
                            z = (ConstMap(x + H, w) + b_iz + b_hz).logistic();
                            hp.setZero();
                        }
                        n = (ConstMap(x + 2 * H, w) + b_in + r * hn).tanh();
                        Map(output + (s.row + i) * out_ld + u, w) = n + z * (hp - n);
                    });
                }
                barrier();
            }
        });
    }

    // The gradient of gru_forward_recurrence, its steps in reverse of the forward's order.
    // For each step and running row i:
    //
    //   dh   = d_output[row + i] + (i < carry_rows ? d_carry[i] : 0)   (from the output, and
    //          from the step that consumed this state; carry_rows = the rows_with_state of
    //          the step before in this order, 0 for the first)
    //   dn   = dh ⊙ (1 - z)           dz = dh ⊙ (h_prev - n)
    //   dâ_n = dn ⊙ (1 - n²)          (pre-activation of n)
    //   dâ_r = dâ_n ⊙ hn ⊙ r(1 - r)    dâ_z = dz ⊙ z(1 - z)
    //   d_input_gates[row + i]  = [dâ_r | dâ_z | dâ_n]        = ∂L/∂(W_ih·x + b_ih)
    //   d_hidden_gates[row + i] = [dâ_r | dâ_z | dâ_n ⊙ r]    = ∂L/∂(W_hh·h_prev + b_hh)
    //   for i < rows_with_state: d_carry[i] = dh ⊙ z + d_hidden_gates[row + i]·W_hh
    //          (∂L/∂h_prev, carried to the step that state came from)
    //
    // d_output has leading dimension d_ld (pointing at this direction's columns), d_carry
    // H, the gate gradients 3H, cache 5H. Threads as in the forward: each owns a block of
    // hidden units, one barrier per step between the cell gradient (its units' columns of
    // the gate gradients) and the GEMM (its units' columns of d_carry, from every gate).
    template <std::size_t Hidden, class T>
    static void gru_backward_recurrence(std::size_t steps, const GruStep* schedule, const T* d_output, std::size_t d_ld,
                                        const T* cache, const T* weight_hh, T* d_carry, T* d_input_gates,
                                        T* d_hidden_gates, T* workspace) {
        constexpr std::size_t H = Hidden, G = 3 * Hidden, C = 5 * Hidden;
        std::size_t tokens = 0;
        for (std::size_t s = 0; s < steps; ++s) tokens += schedule[s].rows;
        run_over_units<Hidden>(2.0 * static_cast<double>(tokens) * G * H, [&](std::size_t u0, std::size_t u1, auto&& barrier) {
            CpuGemm::pack_right(G, H, weight_hh, H, workspace, u0, u1 - u0);
            std::size_t carry_rows = 0;
            for (std::size_t k = 0; k < steps; ++k) {
                const GruStep s = schedule[k];
                for (std::size_t i = 0; i < s.rows; ++i) {
                    for_unit_chunks<T>(u0, u1, [&](std::size_t u, Eigen::Index w, auto chunk) {
                        using Chunk = typename decltype(chunk)::type;
                        using ConstMap = Eigen::Map<const Chunk>;
                        using Map = Eigen::Map<Chunk>;
                        const T* c = cache + (s.row + i) * C + u;
                        const ConstMap r(c, w), z(c + H, w), n(c + 2 * H, w), hn(c + 3 * H, w), hp(c + 4 * H, w);
                        T* gx = d_input_gates + (s.row + i) * G + u;
                        T* gh = d_hidden_gates + (s.row + i) * G + u;
                        Map carry(d_carry + i * H + u, w), da_r(gx, w), da_z(gx + H, w), da_n(gx + 2 * H, w),
                            dh_r(gh, w), dh_z(gh + H, w), dh_n(gh + 2 * H, w);
                        Chunk dh = ConstMap(d_output + (s.row + i) * d_ld + u, w);  // on the stack
                        if (i < carry_rows) dh += carry;
                        da_n = dh * (T(1) - z) * (T(1) - n.square());
                        da_r = da_n * hn * r * (T(1) - r);
                        da_z = dh * (hp - n) * z * (T(1) - z);
                        dh_r = da_r;
                        dh_z = da_z;
                        dh_n = da_n * r;
                        if (i < s.rows_with_state) carry = dh * z;
                    });
                }
                barrier();
                if (s.rows_with_state > 0)
                    CpuGemm::gemm_packed_serial(s.rows_with_state, u1 - u0, G, d_hidden_gates + s.row * G, G, workspace,
                                                u0, H, T(1), d_carry + u0, H);
                carry_rows = s.rows_with_state;
            }
        });
    }

private:
    // body(u0, u1, barrier) for blocks of hidden units: [0, Hidden) on the calling thread,
    // or, when there are threads to share `flops` and Hidden splits in blocks of 16, one
    // block per thread in one parallel region; barrier() waits for every thread.
    template <std::size_t Hidden, class Body>
    static void run_over_units(double flops, Body&& body) {
#ifdef _OPENMP
        constexpr std::size_t chunks = Hidden / 16;
        if (Hidden % 16 == 0 && chunks > 1 && flops >= 1e6 && !omp_in_parallel() && omp_get_max_threads() > 1) {
            const int threads = static_cast<int>(std::min<std::size_t>(chunks, static_cast<std::size_t>(omp_get_max_threads())));
#pragma omp parallel num_threads(threads)
            {
                const auto count = static_cast<std::size_t>(omp_get_num_threads()),
                           thread = static_cast<std::size_t>(omp_get_thread_num());
                body(chunks * thread / count * 16, chunks * (thread + 1) / count * 16, [] {
#pragma omp barrier
                });
            }
            return;
        }
#endif
        (void)flops;
        body(std::size_t{0}, Hidden, [] {});
    }

    // f(u, width, chunk) over units [u0, u1) in blocks of 16 (the last one shorter when
    // u1 - u0 is not a multiple of 16): chunk's type is the Eigen array type of the block
    // (16 fixed, or at most 16 on the stack), so every unit is computed by the same code
    // whichever thread owns it, and nothing allocates.
    template <class T>
    struct Chunk16 {
        using type = Eigen::Array<T, 16, 1>;
    };
    template <class T>
    struct ChunkTail {
        using type = Eigen::Array<T, Eigen::Dynamic, 1, 0, 16, 1>;
    };
    template <class T, class F>
    static void for_unit_chunks(std::size_t u0, std::size_t u1, F&& f) {
        std::size_t u = u0;
        for (; u + 16 <= u1; u += 16) f(u, Eigen::Index{16}, Chunk16<T>{});
        if (u < u1) f(u, static_cast<Eigen::Index>(u1 - u), ChunkTail<T>{});
    }
};

}  // namespace strata
