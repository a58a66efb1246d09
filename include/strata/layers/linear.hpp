// strata/layers/linear.hpp — Linear<In, Out>: y = x·Wᵀ + b, PyTorch's nn.Linear.
//
// Input   any per-sample shape ending in In (a vector, or a sequence of vectors: each row
//         of In features is mapped independently); output: the same shape ending in Out.
// Params  weight [Out, In], bias [Out] (state_dict names "weight", "bias").
// Init    PyTorch's default: weight and bias uniform in ±1/√In.
// Keeps   nothing: backward uses the forward's input, passed back to it.
// Cost    forward one GEMM (rows × In × Out) + a bias broadcast; backward two GEMMs
//         (dW += d_outᵀ·x, d_in = d_out·W; the second skipped for the first layer) and a
//         column sum for db.
#pragma once

#include <array>
#include <cmath>

#include "strata/core/init.hpp"
#include "strata/core/layer.hpp"
#include "strata/core/packed_weight.hpp"

namespace strata {

template <class T, class B, ShapeType InShape, std::size_t Out, bool HasBias>
class LinearLayer {
public:
    using Scalar = T;
    using Backend = B;
    using InputScalar = T;
    using InputShape = InShape;
    using OutputShape = replace_last_t<InShape, Out>;
    static constexpr std::size_t in_features = InShape::last;
    static constexpr std::size_t out_features = Out;

    LinearLayer() = default;
    template <class Spec>
    explicit LinearLayer(const Spec&) {}

    std::size_t parameter_count() const { return Out * in_features + (HasBias ? Out : 0); }
    void bind_parameters(T* values, T* gradients) {
        weight_ = values;
        weight_gradient_ = gradients;
        if constexpr (HasBias) {
            bias_ = values + Out * in_features;
            bias_gradient_ = gradients + Out * in_features;
        }
    }
    void reset_parameters(Rng& rng) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
        init::uniform<Backend>(rng, bound, weight_, Out * in_features);
        if constexpr (HasBias) init::uniform<Backend>(rng, bound, bias_, Out);
    }
    void reserve(std::size_t) {}

    // Inference keeps W packed for the GEMM (core/packed_weight.hpp; Sequential decides).
    void pack_weights() { packed_weight_.pack(weight_); }
    void drop_packed_weights() { packed_weight_.drop(); }

    void forward(const Context& ctx, TensorView<const T, InputShape, Backend> in,
                 TensorView<T, OutputShape, Backend> out) {
        const std::size_t rows = in.rows();
        packed_weight_.multiply(!ctx.training, rows, in.data, in_features, weight_, in_features, out.data, Out);
        if constexpr (HasBias) Backend::add_row_vector(rows, Out, bias_, out.data, Out);
    }

    void backward(const Context&, TensorView<const T, InputShape, Backend> in,
                  TensorView<const T, OutputShape, Backend>, TensorView<const T, OutputShape, Backend> d_out,
                  TensorView<T, InputShape, Backend> d_in) {
        const std::size_t rows = in.rows();
        Backend::gemm(Transpose::yes, Transpose::no, Out, in_features, rows, T(1), d_out.data, Out, in.data,
                      in_features, T(1), weight_gradient_, in_features);
        if constexpr (HasBias) Backend::accumulate_column_sums(rows, Out, d_out.data, Out, bias_gradient_);
        if (!d_in.empty())
            Backend::gemm(Transpose::no, Transpose::no, rows, in_features, Out, T(1), d_out.data, Out, weight_,
                          in_features, T(0), d_in.data, in_features);
    }

    template <class F>
    void for_each_parameter(F&& visit) {
        visit(ParameterRef<T>{"weight", weight_, weight_gradient_, weight_shape});
        if constexpr (HasBias) visit(ParameterRef<T>{"bias", bias_, bias_gradient_, bias_shape});
    }

    const T* weight() const { return weight_; }
    const T* bias() const { return bias_; }

private:
    static constexpr std::array<std::int64_t, 2> weight_shape{Out, in_features};
    static constexpr std::array<std::int64_t, 1> bias_shape{Out};

    T* weight_ = nullptr;
    T* weight_gradient_ = nullptr;
    PackedWeight<T, B, Out, in_features> packed_weight_;
    T* bias_ = nullptr;
    T* bias_gradient_ = nullptr;
};

// The spec: Linear<In, Out> (with bias) or Linear<In, Out, false> (without).
template <std::size_t In, std::size_t Out, bool HasBias = true>
struct Linear {
    static_assert(In > 0 && Out > 0, "strata::Linear: sizes must be positive");
    using expected_input = LastExtent<In>;
    using default_input_shape = Shape<In>;
    template <class InputShape>
    static constexpr bool accepts = InputShape::last == In;
    template <class T, class Backend, class InputShape>
    using bind = LinearLayer<T, Backend, InputShape, Out, HasBias>;
};

}  // namespace strata
