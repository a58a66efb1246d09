// strata/layers/pooling.hpp — pooling over time: MeanPool, MaxPool, LastPool.
//
// Input   Shape<T, F> for any T and F (a sequence of feature vectors).
// Output  Shape<F>, over each sample's L_b valid positions only (padded positions are
//         never read, so whatever they hold changes nothing):
//             MeanPool  out[b] = (1/L_b) Σ_{t<L_b} x[b, t]
//             MaxPool   out[b, f] = max_{t<L_b} x[b, t, f]  (per feature; ties: the first t)
//             LastPool  out[b] = x[b, L_b - 1]               (the last valid step)
// Params  none.
// Keeps   MaxPool: the argmax time index per (sample, feature), std::int32_t [B, F];
//         the others nothing.
// Backward  d_in[b, t] = d_out[b] / L_b (t < L_b) for MeanPool; d_out[b, f] at the argmax
//         step for MaxPool; d_out[b] at step L_b - 1 for LastPool; 0 everywhere else
//         (padded positions included).
// Cost    one pass over the valid input (mean, max); F values per sample (last).
#pragma once

#include <cstdint>

#include "strata/core/layer.hpp"

namespace strata {

enum class PoolKind { mean, max, last };

template <PoolKind Kind, class T, class B, ShapeType InShape>
class PoolLayer : public ParameterFree<T> {
    static_assert(InShape::rank == 2, "strata pooling takes Shape<T, F>");

public:
    using Scalar = T;
    using Backend = B;
    using InputScalar = T;
    using InputShape = InShape;
    using OutputShape = Shape<InShape::dims[1]>;
    static constexpr std::size_t max_time = InShape::dims[0];
    static constexpr std::size_t features = InShape::dims[1];

    PoolLayer() = default;
    template <class Spec>
    explicit PoolLayer(const Spec&) {}

    void reserve(std::size_t batch_capacity) {
        if constexpr (Kind == PoolKind::max) argmax_ = Buffer<std::int32_t, B>(batch_capacity * features);
    }

    void forward(const Context& ctx, TensorView<const T, InputShape, B> in, TensorView<T, OutputShape, B> out) {
        const std::int32_t* lengths = ctx.lengths.empty() ? nullptr : ctx.lengths.data();
        if constexpr (Kind == PoolKind::mean)
            B::template mean_pool_forward<features>(in.batch, max_time, lengths, in.data, out.data);
        else if constexpr (Kind == PoolKind::max)
            B::template max_pool_forward<features>(in.batch, max_time, lengths, in.data, out.data, argmax_.data());
        else
            B::template last_pool_forward<features>(in.batch, max_time, lengths, in.data, out.data);
    }

    void backward(const Context& ctx, TensorView<const T, InputShape, B>, TensorView<const T, OutputShape, B>,
                  TensorView<const T, OutputShape, B> d_out, TensorView<T, InputShape, B> d_in) {
        if (d_in.empty()) return;
        const std::int32_t* lengths = ctx.lengths.empty() ? nullptr : ctx.lengths.data();
        if constexpr (Kind == PoolKind::mean)
            B::template mean_pool_backward<features>(d_in.batch, max_time, lengths, d_out.data, d_in.data);
        else if constexpr (Kind == PoolKind::max)
            B::template max_pool_backward<features>(d_in.batch, max_time, argmax_.data(), d_out.data, d_in.data);
        else
            B::template last_pool_backward<features>(d_in.batch, max_time, lengths, d_out.data, d_in.data);
    }

    // MaxPool only: the argmax step per (sample, feature) of the last forward.
    const std::int32_t* argmax() const
        requires(Kind == PoolKind::max)
    {
        return argmax_.data();
    }

private:
    Buffer<std::int32_t, B> argmax_;
};

template <PoolKind Kind>
struct PoolSpec {
    using expected_input = AnySequence;
    template <class InputShape>
    static constexpr bool accepts = InputShape::rank == 2;
    template <class T, class B, class InputShape>
    using bind = PoolLayer<Kind, T, B, InputShape>;
};

struct MeanPool : PoolSpec<PoolKind::mean> {};
struct MaxPool : PoolSpec<PoolKind::max> {};
struct LastPool : PoolSpec<PoolKind::last> {};

}  // namespace strata
