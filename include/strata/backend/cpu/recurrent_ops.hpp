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

    // ---- the fused GRU cell (PyTorch's equations) ------------------------------------------
    // For each row i < rows of one time step, with x̂ = input_projection[i] = W_ih·x (3H, no
    // bias) and, for i < rows_with_state, ĥ = hidden_projection[i] = W_hh·h_prev (3H, no
    // bias) and h_prev = h_prev[i]; for i ≥ rows_with_state the text starts here: h_prev = 0
    // and ĥ = 0 (hidden_projection and h_prev are not read for those rows).
    //
    //   ┌ r ┐   ┌ σ(x̂_r + b_ir + ĥ_r + b_hr)          ┐
    //   │ z │ = │ σ(x̂_z + b_iz + ĥ_z + b_hz)          │
    //   └ n ┘   └ tanh(x̂_n + b_in + r ⊙ (ĥ_n + b_hn))  ┘
    //   h = (1 - z) ⊙ n + z ⊙ h_prev = n + z ⊙ (h_prev - n)
    //
    // writes h to h_out[i] (leading dimension out_ld) and [r | z | n | hn | h_prev] to
    // cache[i] (leading dimension 5H), hn = ĥ_n + b_hn.
    // Cost: 3H transcendentals and ~12H flops per row.
    template <std::size_t Hidden, class T>
    static void gru_cell_forward(std::size_t rows, std::size_t rows_with_state, const T* input_projection,
                                 const T* hidden_projection, const T* bias_ih, const T* bias_hh,
                                 const T* h_prev, std::size_t h_prev_ld, T* h_out, std::size_t out_ld,
                                 T* cache) {
        constexpr std::size_t H = Hidden, G = 3 * Hidden, C = 5 * Hidden;
        using Vector = Eigen::Array<T, static_cast<int>(Hidden), 1>;
        using ConstMap = Eigen::Map<const Vector>;
        using Map = Eigen::Map<Vector>;
        const ConstMap b_ir(bias_ih), b_iz(bias_ih + H), b_in(bias_ih + 2 * H);
        const ConstMap b_hr(bias_hh), b_hz(bias_hh + H), b_hn(bias_hh + 2 * H);
        const auto count = static_cast<std::ptrdiff_t>(rows);
        parallel_for(count, rows * Hidden >= 32768, [&](std::ptrdiff_t row) {
            const auto i = static_cast<std::size_t>(row);
            const T* x = input_projection + i * G;
            T* c = cache + i * C;
            Map r(c), z(c + H), n(c + 2 * H), hn(c + 3 * H), hp(c + 4 * H);
            if (i < rows_with_state) {
                const T* h = hidden_projection + i * G;
                hn = ConstMap(h + 2 * H) + b_hn;
                r = (ConstMap(x) + b_ir + ConstMap(h) + b_hr).logistic();
                z = (ConstMap(x + H) + b_iz + ConstMap(h + H) + b_hz).logistic();
                hp = ConstMap(h_prev + i * h_prev_ld);
            } else {
                hn = b_hn;
                r = (ConstMap(x) + b_ir + b_hr).logistic();
                z = (ConstMap(x + H) + b_iz + b_hz).logistic();
                hp.setZero();
            }
            n = (ConstMap(x + 2 * H) + b_in + r * hn).tanh();
            Map(h_out + i * out_ld) = n + z * (hp - n);
        });
    }

    // The gradient of gru_cell_forward for one time step. For each row i < rows:
    //
    //   dh   = d_h_out[i] + (i < carry_rows ? d_h_carry[i] : 0)   (from the output, and
    //          from the step that consumed this state)
    //   dn   = dh ⊙ (1 - z)           dz = dh ⊙ (h_prev - n)
    //   dâ_n = dn ⊙ (1 - n²)          (pre-activation of n)
    //   dâ_r = dâ_n ⊙ hn ⊙ r(1 - r)    dâ_z = dz ⊙ z(1 - z)
    //   d_input_gates[i]  = [dâ_r | dâ_z | dâ_n]        = ∂L/∂(W_ih·x + b_ih)
    //   d_hidden_gates[i] = [dâ_r | dâ_z | dâ_n ⊙ r]    = ∂L/∂(W_hh·h_prev + b_hh)
    //   for i < rows_with_state: d_h_carry[i] = dh ⊙ z   (the direct part of ∂L/∂h_prev;
    //          the caller adds d_hidden_gates[i]·W_hh with a GEMM)
    //
    // d_h_out has leading dimension d_ld, d_h_carry H, the gate gradients 3H, cache 5H.
    // d_h_carry is read and then written in place, element by element.
    template <std::size_t Hidden, class T>
    static void gru_cell_backward(std::size_t rows, std::size_t rows_with_state, std::size_t carry_rows,
                                  const T* d_h_out, std::size_t d_ld, T* d_h_carry, const T* cache,
                                  T* d_input_gates, T* d_hidden_gates) {
        constexpr std::size_t H = Hidden, G = 3 * Hidden, C = 5 * Hidden;
        using Vector = Eigen::Array<T, static_cast<int>(Hidden), 1>;
        using ConstMap = Eigen::Map<const Vector>;
        using Map = Eigen::Map<Vector>;
        const auto count = static_cast<std::ptrdiff_t>(rows);
        parallel_for(count, rows * Hidden >= 32768, [&](std::ptrdiff_t row) {
            const auto i = static_cast<std::size_t>(row);
            const T* c = cache + i * C;
            const ConstMap r(c), z(c + H), n(c + 2 * H), hn(c + 3 * H), hp(c + 4 * H);
            T* gx = d_input_gates + i * G;
            T* gh = d_hidden_gates + i * G;
            Map carry(d_h_carry + i * H), da_r(gx), da_z(gx + H), da_n(gx + 2 * H), dh_r(gh), dh_z(gh + H),
                dh_n(gh + 2 * H);
            Vector dh = ConstMap(d_h_out + i * d_ld);
            if (i < carry_rows) dh += carry;
            da_n = dh * (T(1) - z) * (T(1) - n.square());
            da_r = da_n * hn * r * (T(1) - r);
            da_z = dh * (hp - n) * z * (T(1) - z);
            dh_r = da_r;
            dh_z = da_z;
            dh_n = da_n * r;
            if (i < rows_with_state) carry = dh * z;
        });
    }
};

}  // namespace strata
