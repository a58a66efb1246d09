// strata/layers/layer_norm.hpp — LayerNorm<Dim>{.epsilon}: PyTorch's nn.LayerNorm(Dim, eps)
// over the last extent.
//
// Input   any per-sample shape ending in Dim; output the same shape. Each row x of Dim
//         values is normalised on its own:
//             μ = mean(x),  σ² = mean((x - μ)²)  (biased, as PyTorch),  r = 1/√(σ² + ε)
//             y = (x - μ)·r ⊙ weight + bias
//         Sequences (rank ≥ 2: the first extent is time): only the rows at valid steps
//         t < L_b are computed; rows at padded steps are written as 0 and never read.
//         A rank-1 input (Shape<Dim>, e.g. after pooling) is one row per sample, unmasked.
// Params  weight [Dim] (init 1), bias [Dim] (init 0) (state_dict "weight", "bias").
// Keeps   μ and r per row (2 scalars per row, sized at the batch capacity).
// Backward  with x̂ = (x - μ)·r and g = d_out ⊙ weight, per valid row:
//             d_in = r · (g - mean(g) - x̂ · mean(g ⊙ x̂))
//             d_weight += Σ_rows d_out ⊙ x̂,   d_bias += Σ_rows d_out
//         The parameter sums are formed per sample and added in sample order
//         (deterministic for any thread count).
// Cost    ~8 flops per element forward, ~10 backward; one pass over the data each way.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "strata/core/init.hpp"
#include "strata/core/layer.hpp"

namespace strata {

template <class T, class B, ShapeType InShape>
class LayerNormLayer {
public:
    using Scalar = T;
    using Backend = B;
    using InputScalar = T;
    using InputShape = InShape;
    using OutputShape = InShape;
    static constexpr std::size_t dim = InShape::last;
    static constexpr bool is_sequence = InShape::rank >= 2;
    // Time steps per sample and rows of Dim per step (rank 1: one step of one row).
    static constexpr std::size_t steps = is_sequence ? InShape::dims[0] : 1;
    static constexpr std::size_t rows_per_step = InShape::rows / steps;

    template <class Spec>
    explicit LayerNormLayer(const Spec& spec) : epsilon_(spec.epsilon) {
        require(spec.epsilon > 0.0, "strata::LayerNorm: epsilon must be positive, got ", spec.epsilon);
    }

    double epsilon() const { return epsilon_; }

    std::size_t parameter_count() const { return 2 * dim; }
    void bind_parameters(T* values, T* gradients) {
        weight_ = values;
        weight_gradient_ = gradients;
        bias_ = values + dim;
        bias_gradient_ = gradients + dim;
    }
    void reset_parameters(Rng&) {
        init::constant<Backend>(T(1), weight_, dim);
        init::constant<Backend>(T(0), bias_, dim);
    }
    void reserve(std::size_t batch_capacity) {
        statistics_ = Buffer<T, B>(2 * batch_capacity * InShape::rows);
        partials_ = Buffer<T, B>(2 * batch_capacity * dim);
        capacity_ = batch_capacity;
    }

    void forward(const Context& ctx, TensorView<const T, InputShape, B> in, TensorView<T, OutputShape, B> out) {
        B::template layer_norm_forward<dim>(in.batch, steps, rows_per_step, lengths_of(ctx), in.data, weight_, bias_,
                                            static_cast<T>(epsilon_), out.data, mean(), inverse_std());
    }

    void backward(const Context& ctx, TensorView<const T, InputShape, B> in, TensorView<const T, OutputShape, B>,
                  TensorView<const T, OutputShape, B> d_out, TensorView<T, InputShape, B> d_in) {
        B::template layer_norm_backward<dim>(in.batch, steps, rows_per_step, lengths_of(ctx), in.data, weight_, mean(),
                                             inverse_std(), d_out.data, d_in.empty() ? nullptr : d_in.data,
                                             partials_.data(), weight_gradient_, bias_gradient_);
    }

    template <class F>
    void for_each_parameter(F&& visit) {
        visit(ParameterRef<T>{"weight", weight_, weight_gradient_, parameter_shape});
        visit(ParameterRef<T>{"bias", bias_, bias_gradient_, parameter_shape});
    }

private:
    static const std::int32_t* lengths_of(const Context& ctx) {
        return is_sequence && !ctx.lengths.empty() ? ctx.lengths.data() : nullptr;
    }
    T* mean() { return statistics_.data(); }
    T* inverse_std() { return statistics_.data() + capacity_ * InShape::rows; }

    static constexpr std::array<std::int64_t, 1> parameter_shape{dim};

    double epsilon_;
    T* weight_ = nullptr;
    T* weight_gradient_ = nullptr;
    T* bias_ = nullptr;
    T* bias_gradient_ = nullptr;
    Buffer<T, B> statistics_;  // μ then r, one per row
    Buffer<T, B> partials_;    // per-sample d_weight | d_bias sums
    std::size_t capacity_ = 0;
};

template <std::size_t Dim>
struct LayerNorm {
    static_assert(Dim > 0, "strata::LayerNorm: the size must be positive");
    double epsilon = 1e-5;

    using expected_input = LastExtent<Dim>;
    using default_input_shape = Shape<Dim>;
    template <class InputShape>
    static constexpr bool accepts = InputShape::last == Dim;
    template <class T, class Backend, class InputShape>
    using bind = LayerNormLayer<T, Backend, InputShape>;
};

}  // namespace strata
