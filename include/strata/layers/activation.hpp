// strata/layers/activation.hpp — element-wise activations: ReLU, Tanh, Sigmoid.
//
// Input   any per-sample shape; output the same shape.
// Params  none.
// Keeps   nothing: backward reads the forward's output y (relu: y > 0; tanh: 1 - y²;
//         sigmoid: y·(1 - y)), passed back to it.
// Note    relu(0) = tanh(0) = 0, so padded positions of a sequence stay zero through
//         ReLU and Tanh; sigmoid(0) = 0.5.
#pragma once

#include "strata/core/layer.hpp"

namespace strata {

template <Activation Kind, class T, class B, ShapeType S>
class ActivationLayer : public ParameterFree<T> {
public:
    using Scalar = T;
    using Backend = B;
    using InputScalar = T;
    using InputShape = S;
    using OutputShape = S;

    ActivationLayer() = default;
    template <class Spec>
    explicit ActivationLayer(const Spec&) {}

    void forward(const Context&, TensorView<const T, S, B> in, TensorView<T, S, B> out) {
        B::activation_forward(Kind, in.size(), in.data, out.data);
    }
    void backward(const Context&, TensorView<const T, S, B>, TensorView<const T, S, B> out,
                  TensorView<const T, S, B> d_out, TensorView<T, S, B> d_in) {
        if (!d_in.empty()) B::activation_backward(Kind, out.size(), out.data, d_out.data, d_in.data);
    }
};

template <Activation Kind>
struct ActivationSpec {
    using expected_input = void;  // any shape
    template <class InputShape>
    static constexpr bool accepts = true;
    template <class T, class B, class InputShape>
    using bind = ActivationLayer<Kind, T, B, InputShape>;
};

struct ReLU : ActivationSpec<Activation::relu> {};
struct Tanh : ActivationSpec<Activation::tanh> {};
struct Sigmoid : ActivationSpec<Activation::sigmoid> {};

}  // namespace strata
