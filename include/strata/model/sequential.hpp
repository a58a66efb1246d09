// strata/model/sequential.hpp — Sequential<Backend, Scalar, Specs...>: a static stack of
// layers.
//
//   using Net = strata::Sequential<strata::Cpu, float,
//                                  strata::Linear<2, 16>, strata::Tanh, strata::Linear<16, 3>>;
//   Net net(/*batch capacity*/ 64);                       // or Net(64, spec values...)
//
// * Shapes are checked once, at compile time, at each boundary: the shape leaving layer
//   i-1 must be one layer i accepts, or compilation stops with ONE error naming the layer
//   index, what the layer expects and the shape it was given (see LayerInputMismatch).
// * The first spec fixes the model's input shape (its default_input_shape), or an
//   Input<Dims...> marker in front does.
// * Memory is laid out once, when the model is built: one flat parameter arena and one
//   flat gradient arena (layers hold views into them), and one output and one gradient
//   tensor per layer, sized at the batch capacity. After construction, forward, backward,
//   zero_grad and the optimizers never allocate.
// * The model's input is NOT copied: forward keeps a view of it, which must stay valid
//   until backward.
// * Parameter names follow PyTorch's state_dict: a layer wrapped as Named<"fc", Linear<…>>
//   is "fc", any other layer is its index ("0", "1", … as in torch.nn.Sequential), so
//   "fc.weight", "2.bias".
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "strata/core/layer.hpp"

namespace strata {

// A compile-time string, for layer names given as template arguments.
template <std::size_t N>
struct FixedString {
    char text[N]{};
    constexpr FixedString(const char (&literal)[N]) { std::copy_n(literal, N, text); }
    constexpr std::string_view view() const { return {text, N - 1}; }
};

// Named<"gru", GRU<128, 128>>: the same layer, with a state_dict name.
template <FixedString Name, class Spec>
struct Named : Spec {
    using Spec::Spec;
    Named() = default;
    Named(const Spec& spec) : Spec(spec) {}
    static constexpr std::string_view layer_name = Name.view();
};

// Input<Dims...>: fixes the model's per-sample input shape; not a layer.
template <std::size_t... Dims>
struct Input {
    using shape = Shape<Dims...>;
};

namespace detail {

template <class T>
struct is_input_marker : std::false_type {};
template <std::size_t... Dims>
struct is_input_marker<Input<Dims...>> : std::true_type {};

template <class Spec>
concept HasLayerName = requires { Spec::layer_name; };
template <class Spec>
concept HasDefaultInputShape = requires { typename Spec::default_input_shape; };

// Stands in for a layer whose input check failed, so the one diagnostic is not followed
// by a wall of errors from the layers behind it.
template <class T, class B, class S>
struct PlaceholderLayer : ParameterFree<T> {
    using Scalar = T;
    using Backend = B;
    using InputScalar = T;
    using InputShape = S;
    using OutputShape = S;
    template <class Spec>
    explicit PlaceholderLayer(const Spec&) {}
    void forward(const Context&, TensorView<const T, S, B>, TensorView<T, S, B>) {}
    void backward(const Context&, TensorView<const T, S, B>, TensorView<const T, S, B>,
                  TensorView<const T, S, B>, TensorView<T, S, B>) {}
};

template <class... Ts>
struct TypeList {};

}  // namespace detail

// The compile-time check at each layer boundary. When it fails, the compiler prints this
// template's arguments: the layer's index, its spec, what it expects and the shape it got.
template <std::size_t LayerIndex, class LayerSpec, class Expected, class Received>
struct LayerInputMismatch {
    static constexpr bool ok = LayerSpec::template accepts<Received>;
    static_assert(ok,
                  "strata::Sequential: LAYER_INPUT_SHAPE_MISMATCH: the shape leaving the previous layer "
                  "(Received) is not the input this layer expects (Expected); make the previous layer's "
                  "output size equal this layer's input size");
};

namespace detail {

template <class T, class B, class InShape, std::size_t Index, class Done, class... Specs>
struct BindAll;

template <class T, class B, class InShape, std::size_t Index, class... Done>
struct BindAll<T, B, InShape, Index, TypeList<Done...>> {
    using layers = std::tuple<Done...>;
};

template <class T, class B, class InShape, std::size_t Index, class... Done, class Spec, class... Rest>
struct BindAll<T, B, InShape, Index, TypeList<Done...>, Spec, Rest...> {
    static constexpr bool ok = LayerInputMismatch<Index, Spec, typename Spec::expected_input, InShape>::ok;
    using layer = std::conditional_t<ok, typename Spec::template bind<T, B, InShape>, PlaceholderLayer<T, B, InShape>>;
    static_assert(!ok || Layer<layer>, "strata::Sequential: a spec's bound type does not satisfy strata::Layer");
    using layers = typename BindAll<T, B, typename layer::OutputShape, Index + 1, TypeList<Done..., layer>,
                                    Rest...>::layers;
};

template <class First, class... Rest>
struct ModelInput {
    static_assert(HasDefaultInputShape<First>,
                  "strata::Sequential: the first layer does not fix the input shape; put strata::Input<dims...> "
                  "in front of it");
    using shape = typename First::default_input_shape;
    static constexpr std::size_t spec_offset = 0;
};
template <std::size_t... Dims, class... Rest>
struct ModelInput<Input<Dims...>, Rest...> {
    using shape = Shape<Dims...>;
    static constexpr std::size_t spec_offset = 1;
};

template <class T, class B, class InShape, class SpecTuple>
struct BindTuple;
template <class T, class B, class InShape, class... S>
struct BindTuple<T, B, InShape, std::tuple<S...>> {
    using type = typename BindAll<T, B, InShape, 0, TypeList<>, S...>::layers;
};

}  // namespace detail

template <class B, class T, class... Specs>
class Sequential {
    static_assert(sizeof...(Specs) > 0, "strata::Sequential needs at least one layer");
    using InputInfo = detail::ModelInput<Specs...>;
    static constexpr std::size_t spec_offset = InputInfo::spec_offset;

    template <class... S>
    struct LayerSpecsOf;
    template <class First, class... S>
    struct LayerSpecsOf<First, S...> {
        using type = std::conditional_t<detail::is_input_marker<First>::value, std::tuple<S...>, std::tuple<First, S...>>;
    };

public:
    using Backend = B;
    using Scalar = T;
    using LayerSpecs = typename LayerSpecsOf<Specs...>::type;
    using Layers = typename detail::BindTuple<T, B, typename InputInfo::shape, LayerSpecs>::type;
    static constexpr std::size_t layer_count = std::tuple_size_v<Layers>;
    template <std::size_t I>
    using LayerAt = std::tuple_element_t<I, Layers>;
    template <std::size_t I>
    using SpecAt = std::tuple_element_t<I, LayerSpecs>;

    using InputShape = typename LayerAt<0>::InputShape;
    using InputScalar = typename LayerAt<0>::InputScalar;
    using OutputShape = typename LayerAt<layer_count - 1>::OutputShape;
    using InputView = TensorView<const InputScalar, InputShape, B>;
    using OutputView = TensorView<const T, OutputShape, B>;
    using OutputGradientView = TensorView<T, OutputShape, B>;

    explicit Sequential(std::size_t batch_capacity)
        requires(std::is_default_constructible_v<Specs> && ...)
        : Sequential(batch_capacity, Specs{}...) {}

    explicit Sequential(std::size_t batch_capacity, const Specs&... specs)
        : Sequential(batch_capacity, std::forward_as_tuple(specs...), std::make_index_sequence<layer_count>{}) {}

    Sequential(const Sequential&) = delete;
    Sequential& operator=(const Sequential&) = delete;

    std::size_t batch_capacity() const { return capacity_; }
    // Non-const access to a layer may change its parameters: packed weights are dropped.
    template <std::size_t I>
    LayerAt<I>& layer() {
        parameters_changed();
        return std::get<I>(layers_);
    }
    template <std::size_t I>
    const LayerAt<I>& layer() const { return std::get<I>(layers_); }

    template <std::size_t I>
    static constexpr std::string_view layer_name_literal() {
        if constexpr (detail::HasLayerName<SpecAt<I>>) return SpecAt<I>::layer_name;
        else return {};
    }
    template <std::size_t I>
    static std::string layer_name() {
        if constexpr (detail::HasLayerName<SpecAt<I>>) return std::string(SpecAt<I>::layer_name);
        else return std::to_string(I);
    }

    // ---- parameters: one flat arena of values and one of gradients ----------------------
    // Inference (a forward with ctx.training false) runs on copies of the weight matrices
    // packed for the GEMM kernels, made at the first inference forward after a change
    // (core/packed_weight.hpp). Every non-const access to the parameters (parameters(),
    // for_each_parameter, reset_parameters, layer<I>()) drops them, so the next inference
    // forward repacks. Code that keeps the pointer from parameters() and writes through it
    // after an inference forward must call parameters_changed() (or parameters() again)
    // before the next one.
    std::size_t parameter_count() const { return parameter_count_; }
    T* parameters() {
        parameters_changed();
        return values_.data();
    }
    void parameters_changed() {
        if (!weights_packed_) return;
        std::apply([](auto&... layer) { (drop_packed(layer), ...); }, layers_);
        weights_packed_ = false;
    }
    const T* parameters() const { return values_.data(); }
    T* gradients() { return gradients_.data(); }
    const T* gradients() const { return gradients_.data(); }

    void zero_grad() { B::fill(gradients_.data(), parameter_count_, T(0)); }

    // Re-initialises every parameter with PyTorch's defaults from one seed.
    void reset_parameters(std::uint64_t seed) {
        parameters_changed();
        Rng rng(seed);
        std::apply([&](auto&... layer) { (layer.reset_parameters(rng), ...); }, layers_);
    }

    // f(ParameterRef<T>) for every parameter, in state_dict order, with full dotted names.
    template <class F>
    void for_each_parameter(F&& visit) {
        parameters_changed();
        for_each_layer_parameter(visit, std::make_index_sequence<layer_count>{});
    }

    // ---- forward and backward -----------------------------------------------------------
    // Runs every layer. `input` must hold ctx.batch samples and stay valid until backward.
    OutputView forward(const Context& ctx, InputView input) {
        require(ctx.batch >= 1 && ctx.batch <= capacity_,
                "strata::Sequential::forward: batch ", ctx.batch, " is outside [1, ", capacity_, "] (the capacity the model was built with)");
        require(input.batch == ctx.batch, "strata::Sequential::forward: the input holds ", input.batch, " samples but the context says ", ctx.batch);
        input_ = input;
        batch_ = ctx.batch;
        if (!ctx.training && !weights_packed_) {
            std::apply([](auto&... layer) { (pack(layer), ...); }, layers_);
            weights_packed_ = true;
        }
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (forward_layer<I>(ctx), ...);
        }(std::make_index_sequence<layer_count>{});
        return output();
    }

    OutputView output() const { return {std::get<layer_count - 1>(outputs_).data(), batch_}; }

    // Where the loss writes ∂loss/∂output before backward().
    OutputGradientView output_gradient() { return {std::get<layer_count - 1>(output_gradients_).data(), batch_}; }

    // Back-propagates output_gradient() through every layer of the last forward,
    // accumulating into the gradient arena (call zero_grad() first for a fresh step).
    void backward(const Context& ctx) {
        require(input_.data != nullptr, "strata::Sequential::backward: no forward pass to go back through");
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (backward_layer<layer_count - 1 - I>(ctx), ...);
        }(std::make_index_sequence<layer_count>{});
    }

private:
    template <class L>
    static void pack(L& layer) {
        if constexpr (requires { layer.pack_weights(); }) layer.pack_weights();
    }
    template <class L>
    static void drop_packed(L& layer) {
        if constexpr (requires { layer.drop_packed_weights(); }) layer.drop_packed_weights();
    }

    template <class SpecTuple, std::size_t... I>
    Sequential(std::size_t batch_capacity, SpecTuple specs, std::index_sequence<I...>)
        : capacity_(batch_capacity),
          layers_(LayerAt<I>(std::get<I + spec_offset>(specs))...),
          outputs_(Tensor<T, typename LayerAt<I>::OutputShape, B>(batch_capacity)...),
          output_gradients_(Tensor<T, typename LayerAt<I>::OutputShape, B>(batch_capacity)...) {
        require(batch_capacity >= 1, "strata::Sequential: the batch capacity must be at least 1");
        parameter_count_ = (std::size_t{0} + ... + std::get<I>(layers_).parameter_count());
        values_ = Buffer<T, B>(parameter_count_);
        gradients_ = Buffer<T, B>(parameter_count_);
        std::size_t offset = 0;
        (bind_layer<I>(offset), ...);
        (std::get<I>(layers_).reserve(batch_capacity), ...);
        reset_parameters(0);
    }

    template <std::size_t I>
    void bind_layer(std::size_t& offset) {
        auto& layer = std::get<I>(layers_);
        layer.bind_parameters(values_.data() + offset, gradients_.data() + offset);
        offset += layer.parameter_count();
    }

    template <std::size_t I>
    auto layer_input() const {
        using L = LayerAt<I>;
        if constexpr (I == 0) {
            return input_;
        } else {
            return TensorView<const T, typename L::InputShape, B>{std::get<I - 1>(outputs_).data(), batch_};
        }
    }

    template <std::size_t I>
    void forward_layer(const Context& ctx) {
        using L = LayerAt<I>;
        std::get<I>(layers_).forward(
            ctx, layer_input<I>(), TensorView<T, typename L::OutputShape, B>{std::get<I>(outputs_).data(), batch_});
    }

    template <std::size_t I>
    void backward_layer(const Context& ctx) {
        using L = LayerAt<I>;
        using InView = TensorView<T, typename L::InputShape, B>;
        InView d_in{};
        if constexpr (I > 0) d_in = InView{std::get<I - 1>(output_gradients_).data(), batch_};
        std::get<I>(layers_).backward(
            ctx, layer_input<I>(),
            TensorView<const T, typename L::OutputShape, B>{std::get<I>(outputs_).data(), batch_},
            TensorView<const T, typename L::OutputShape, B>{std::get<I>(output_gradients_).data(), batch_},
            d_in);
    }

    template <class F, std::size_t... I>
    void for_each_layer_parameter(F& visit, std::index_sequence<I...>) {
        (std::get<I>(layers_).for_each_parameter([&](const ParameterRef<T>& parameter) {
            const std::string full_name = layer_name<I>() + "." + std::string(parameter.name);
            ParameterRef<T> named = parameter;
            named.name = full_name;
            visit(named);
        }),
         ...);
    }

    template <class Tuple>
    struct TensorTuple;
    template <class... Ls>
    struct TensorTuple<std::tuple<Ls...>> {
        using type = std::tuple<Tensor<T, typename Ls::OutputShape, B>...>;
    };

    std::size_t capacity_;
    Layers layers_;
    typename TensorTuple<Layers>::type outputs_;
    typename TensorTuple<Layers>::type output_gradients_;
    Buffer<T, B> values_;
    Buffer<T, B> gradients_;
    std::size_t parameter_count_ = 0;
    bool weights_packed_ = false;  // every layer's packed weights match the parameters
    InputView input_{};
    std::size_t batch_ = 0;
};

}  // namespace strata
