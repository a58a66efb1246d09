// strata/layers/conv1d.hpp — Conv1D<In, Out, Kernel>{.activation}: a 1-D convolution over
// time, stride 1, zero padding Kernel/2 each side (same-length output), PyTorch's
// nn.Conv1d(In, Out, Kernel, padding=Kernel/2) on [B, T, F] data, with an optional fused
// activation:
//
//   strata::Conv1D<128, 128, 3>{.activation = strata::Activation::relu}
//
// Input   Shape<T, In> for any T (a sequence of In features).
// Output  Shape<T, Out>:
//             z[b, t, o] = bias[o] + Σ_k Σ_i weight[o, i, k] · x[b, t + k - P, i],  P = Kernel/2
//             out[b, t]  = f(z[b, t]) for t < L_b,   0 for t ≥ L_b
//         where x at positions outside [0, L_b) counts as zero: near a text's end the
//         kernel sees zeros, as PyTorch sees the zero padding of a padded batch, and the
//         values stored at padded positions are never read.
// Params  weight [Out, In, Kernel], bias [Out] (state_dict "weight", "bias": PyTorch's layout).
// Init    PyTorch's: weight and bias uniform in ±1/√(In·Kernel).
// Keeps   the weight rearranged as W' [Out, Kernel·In], W'[o, k·In + i] = weight[o, i, k]
//         (from forward; parameters do not change between a forward and its backward). Backward re-packs the input
//         (one copy) instead of keeping it, and reads f' through the forward's output
//         (relu: y > 0; tanh: 1 - y²; sigmoid: y(1 - y)).
//
// How (one GEMM over packed rows, im2col without the copy). The valid rows of all samples
// are stacked into one matrix X with P zero rows before each sample and after the last
// (CpuSequenceOps "packed rows"), so that every kernel window stays inside its own sample or
// reads zeros. Kernel consecutive rows of X, read from row r on, are one im2col row
// [x_r | x_{r+1} | … ] of Kernel·In values; a view with leading dimension In (below its row
// length) reads them all without copying. Then
//     Z[r + P] = X̃[r] · W'ᵀ                            (one GEMM, [N, Kernel·In] × [Kernel·In, Out])
// and one fused pass adds the bias, applies f and scatters the rows back to [B, T, Out],
// zeroing the padded positions. Backward, with dZ = d_out ⊙ f'(y) packed the same way
// (zero gap rows):
//     db  += Σ_r dZ[r]
//     dW'  = dZᵀ · X̃                                  (one GEMM, [Out, N] × [N, Kernel·In])
//     dX[r] = Σ_k dZ[r + P - k] · W'_k                 (Kernel GEMMs, [N, Out] × [Out, In];
//                                                        an output view cannot overlap)
// One GEMM of depth Kernel·In instead of Kernel shifted ones of depth In: C is written
// once, and each product is large enough to share between threads at batch 1 (the
// shifted ones, 20 × 128 × 128 each, were not). The gap rows waste P·B rows of GEMM work.
// Cost    2·Out·In·Kernel multiply-adds per valid row (+ P per sample) forward; twice that
//         backward (once without d_in).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "strata/backend/cpu.hpp"
#include "strata/core/init.hpp"
#include "strata/core/layer.hpp"
#include "strata/core/packed_weight.hpp"

namespace strata {

template <class T, class B, ShapeType InShape, std::size_t Out, std::size_t Kernel>
class Conv1DLayer {
    static_assert(InShape::rank == 2, "strata::Conv1D takes Shape<T, In>");

public:
    using Scalar = T;
    using Backend = B;
    using InputScalar = T;
    using InputShape = InShape;
    using OutputShape = Shape<InShape::dims[0], Out>;
    static constexpr std::size_t max_time = InShape::dims[0];
    static constexpr std::size_t in_features = InShape::dims[1];
    static constexpr std::size_t out_features = Out;
    static constexpr std::size_t kernel_size = Kernel;
    static constexpr std::size_t pad = Kernel / 2;
    static constexpr std::size_t window = Kernel * InShape::dims[1];  // one im2col row

    template <class Spec>
    explicit Conv1DLayer(const Spec& spec) : activation_(spec.activation) {}

    Activation activation() const { return activation_; }

    std::size_t parameter_count() const { return Out * in_features * Kernel + Out; }
    void bind_parameters(T* values, T* gradients) {
        weight_ = values;
        weight_gradient_ = gradients;
        bias_ = values + Out * in_features * Kernel;
        bias_gradient_ = gradients + Out * in_features * Kernel;
    }
    void reset_parameters(Rng& rng) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(in_features * Kernel));
        init::uniform<Backend>(rng, bound, weight_, Out * in_features * Kernel);
        init::uniform<Backend>(rng, bound, bias_, Out);
    }
    void reserve(std::size_t batch_capacity) {
        const std::size_t rows = pad + batch_capacity * (max_time + pad);
        packed_input_ = Buffer<T, B>(rows * in_features);
        packed_output_ = Buffer<T, B>(rows * Out);
        taps_ = Buffer<T, B>(Kernel * Out * in_features);
        tap_gradients_ = Buffer<T, B>(Kernel * Out * in_features);
        row_base_.assign(batch_capacity + 1, 0);
    }

    // Inference keeps W' packed for the GEMM (core/packed_weight.hpp; Sequential decides).
    void pack_weights() {
        B::template conv1d_split_taps<Out, in_features, Kernel>(weight_, taps_.data());
        packed_taps_.pack(taps_.data());
    }
    void drop_packed_weights() { packed_taps_.drop(); }

    void forward(const Context& ctx, TensorView<const T, InputShape, B> in, TensorView<T, OutputShape, B> out) {
        const std::int32_t* lengths = ctx.lengths.empty() ? nullptr : ctx.lengths.data();
        const std::size_t batch = in.batch;
        const std::size_t rows = layout_rows(ctx, batch);
        B::template pack_sequence_rows<in_features>(batch, max_time, lengths, row_base_.data(), pad, in.data,
                                                    packed_input_.data());
        const bool use_packed = !ctx.training && packed_taps_.packed();
        if (!use_packed) B::template conv1d_split_taps<Out, in_features, Kernel>(weight_, taps_.data());
        // Z[r + P] = X̃[r] · W'ᵀ over r ∈ [0, rows - 2P): X̃[r] = rows r … r + Kernel - 1 of X.
        const std::size_t m = rows - 2 * pad;
        packed_taps_.multiply(use_packed, m, packed_input_.data(), in_features, taps_.data(), window,
                              packed_output_.data() + pad * Out, Out);
        B::template unpack_sequence_rows<Out>(batch, max_time, lengths, row_base_.data(), packed_output_.data(),
                                              bias_, activation_, out.data);
    }

    void backward(const Context& ctx, TensorView<const T, InputShape, B> in, TensorView<const T, OutputShape, B> out,
                  TensorView<const T, OutputShape, B> d_out, TensorView<T, InputShape, B> d_in) {
        const std::int32_t* lengths = ctx.lengths.empty() ? nullptr : ctx.lengths.data();
        const std::size_t batch = in.batch;
        const std::size_t rows = layout_rows(ctx, batch);
        const std::size_t m = rows - 2 * pad;
        T* packed_input = packed_input_.data();
        T* packed_gradient = packed_output_.data();
        B::template pack_sequence_rows<in_features>(batch, max_time, lengths, row_base_.data(), pad, in.data,
                                                    packed_input);
        // dZ = d_out ⊙ f'(y), packed, zero gap rows.
        B::template pack_sequence_rows_activation_backward<Out>(batch, max_time, lengths, row_base_.data(), pad,
                                                                activation_, out.data, d_out.data, packed_gradient);
        B::accumulate_column_sums(rows, Out, packed_gradient, Out, bias_gradient_);
        // dW' = Σ_{r ∈ [0, rows-2P)} dZ[r + P]ᵀ X̃[r]
        B::gemm(Transpose::yes, Transpose::no, Out, window, m, T(1), packed_gradient + pad * Out, Out, packed_input,
                in_features, T(0), tap_gradients_.data(), window);
        B::template conv1d_accumulate_taps<Out, in_features, Kernel>(tap_gradients_.data(), weight_gradient_);
        if (d_in.empty()) return;
        // dX[r] = Σ_k dZ[r + P - k] · W_k over r ∈ [P, rows - P), written over X (no longer needed).
        for (std::size_t k = 0; k < Kernel; ++k)
            B::gemm(Transpose::no, Transpose::no, m, in_features, Out, T(1), packed_gradient + (2 * pad - k) * Out, Out,
                    taps_.data() + k * in_features, window, k == 0 ? T(0) : T(1),
                    packed_input + pad * in_features, in_features);
        B::template unpack_sequence_rows<in_features>(batch, max_time, lengths, row_base_.data(), packed_input,
                                                      static_cast<const T*>(nullptr), Activation::identity, d_in.data);
    }

    template <class F>
    void for_each_parameter(F&& visit) {
        visit(ParameterRef<T>{"weight", weight_, weight_gradient_, weight_shape});
        visit(ParameterRef<T>{"bias", bias_, bias_gradient_, bias_shape});
    }

    const T* weight() const { return weight_; }
    const T* bias() const { return bias_; }

private:
    // row_base_[b] = P + Σ_{b'<b} (L_b' + P): where sample b starts in the packed rows;
    // returns the total row count.
    std::size_t layout_rows(const Context& ctx, std::size_t batch) {
        std::size_t next = pad;
        for (std::size_t b = 0; b < batch; ++b) {
            row_base_[b] = next;
            next += ctx.length(b, max_time) + pad;
        }
        row_base_[batch] = next;
        return next;
    }

    static constexpr std::array<std::int64_t, 3> weight_shape{Out, in_features, Kernel};
    static constexpr std::array<std::int64_t, 1> bias_shape{Out};

    Activation activation_;
    T* weight_ = nullptr;
    T* weight_gradient_ = nullptr;
    T* bias_ = nullptr;
    T* bias_gradient_ = nullptr;
    Buffer<T, B> packed_input_;    // X, then dX in backward
    Buffer<T, B> packed_output_;   // Z, then dZ in backward
    Buffer<T, B> taps_;            // W' [Out, Kernel·In]
    Buffer<T, B> tap_gradients_;   // dW' [Out, Kernel·In]
    PackedWeight<T, B, Out, window> packed_taps_;
    std::vector<std::size_t> row_base_;
};

// The spec: Conv1D<In, Out, Kernel> (Kernel odd), optionally {.activation = Activation::relu}.
template <std::size_t In, std::size_t Out, std::size_t Kernel>
struct Conv1D {
    static_assert(In > 0 && Out > 0, "strata::Conv1D: sizes must be positive");
    static_assert(Kernel % 2 == 1, "strata::Conv1D: the kernel size must be odd (same-length output with "
                                   "Kernel/2 zeros each side)");
    Activation activation = Activation::identity;

    using expected_input = SequenceOf<In>;
    template <class InputShape>
    static constexpr bool accepts = InputShape::rank == 2 && InputShape::last == In;
    template <class T, class Backend, class InputShape>
    using bind = Conv1DLayer<T, Backend, InputShape, Out, Kernel>;
};

}  // namespace strata
