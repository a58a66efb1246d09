// strata/core/layer.hpp — what a layer is.
//
// A layer comes in two parts:
//
// * A SPEC: the type users write inside Sequential<...> (Linear<128, 3>, ReLU, Dropout).
//   It holds the sizes the architecture fixes as template arguments, its runtime options
//   as data members (a dropout rate, a vocabulary size), and says which per-sample input
//   shapes it accepts:
//       template <class InputShape> static constexpr bool accepts;   // can it take this?
//       using expected_input = ...;          // a type that names what it expects (errors)
//       template <class Scalar, class Backend, class InputShape> using bind = LayerType;
//   A spec whose input shape is fixed (an embedding over Shape<T_max> ids) also names it
//   as default_input_shape, so it can start a Sequential.
//
// * The bound LAYER (the Layer concept below): the spec bound to a scalar type, a backend
//   and the input shape that reaches it. It owns views of its parameters and gradients
//   (in the model's flat arenas), and offers
//       forward(ctx, in, out)                  out = f(in); keeps what backward needs
//       backward(ctx, in, out, d_out, d_in)    d_in = ∂loss/∂in (OVERWRITTEN; skipped
//                                              when d_in is empty), and parameter
//                                              gradients ACCUMULATED (+=)
//       for_each_parameter(f)                  f(ParameterRef) in PyTorch state_dict order
//   Backward receives the forward's input and output again, so no layer copies them.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "strata/core/context.hpp"
#include "strata/core/rng.hpp"
#include "strata/core/shape.hpp"
#include "strata/core/tensor.hpp"

namespace strata {

// One parameter tensor, as the one parameter walk yields it: its state_dict name, its
// values and gradient (backend memory) and its shape in PyTorch's layout.
template <class T>
struct ParameterRef {
    std::string_view name;
    T* value = nullptr;
    T* gradient = nullptr;
    std::span<const std::int64_t> shape;

    std::size_t size() const {
        std::size_t count = 1;
        for (auto extent : shape) count *= static_cast<std::size_t>(extent);
        return count;
    }
};

// Names the last extent a feature layer expects, for diagnostics: LastExtent<128>
// reads "any shape ending in 128".
template <std::size_t N>
struct LastExtent {};
// SequenceOf<128> reads "Shape<T, 128> for any T"; AnySequence "Shape<T, F> for any T, F".
template <std::size_t Features>
struct SequenceOf {};
struct AnySequence {};

namespace detail {
struct ParameterProbe {
    template <class T>
    void operator()(const ParameterRef<T>&) const {}
};
}  // namespace detail

template <class L>
concept Layer =
    requires {
        typename L::Scalar;
        typename L::Backend;
        typename L::InputScalar;
        requires ShapeType<typename L::InputShape>;
        requires ShapeType<typename L::OutputShape>;
    } &&
    requires(L& layer, const L& const_layer, const Context& ctx, typename L::Scalar* pointer, Rng& rng,
             TensorView<const typename L::InputScalar, typename L::InputShape, typename L::Backend> in,
             TensorView<typename L::Scalar, typename L::InputShape, typename L::Backend> d_in,
             TensorView<typename L::Scalar, typename L::OutputShape, typename L::Backend> out,
             TensorView<const typename L::Scalar, typename L::OutputShape, typename L::Backend> const_out) {
        { const_layer.parameter_count() } -> std::convertible_to<std::size_t>;
        layer.bind_parameters(pointer, pointer);
        layer.reset_parameters(rng);
        layer.reserve(std::size_t{});
        layer.forward(ctx, in, out);
        layer.backward(ctx, in, const_out, const_out, d_in);
        layer.for_each_parameter(detail::ParameterProbe{});
    };

// Helpers for writing layers.
template <class L>
using InputViewOf = TensorView<const typename L::InputScalar, typename L::InputShape, typename L::Backend>;
template <class L>
using OutputViewOf = TensorView<typename L::Scalar, typename L::OutputShape, typename L::Backend>;

// A layer with no parameters and no workspace: the parts of the protocol it needs no code for.
template <class T>
struct ParameterFree {
    std::size_t parameter_count() const { return 0; }
    void bind_parameters(T*, T*) {}
    void reset_parameters(Rng&) {}
    void reserve(std::size_t) {}
    template <class F>
    void for_each_parameter(F&&) {}
};

}  // namespace strata
