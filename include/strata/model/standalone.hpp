// strata/model/standalone.hpp — one layer on its own, with its own parameter arena.
//
// StandaloneLayer<Spec, Scalar, InputShape, Backend> binds a spec exactly as Sequential
// would (parameters and gradients in flat arenas, workspace at the batch capacity,
// PyTorch's default initialisation from a seed) so a single layer can be tested,
// benchmarked or used without a model around it.
#pragma once

#include <cstdint>

#include "strata/core/layer.hpp"

namespace strata {

template <class Spec, class T, ShapeType InShape, class B>
class StandaloneLayer {
public:
    using LayerType = typename Spec::template bind<T, B, InShape>;
    static_assert(Layer<LayerType>);
    using InputView = TensorView<const typename LayerType::InputScalar, InShape, B>;
    using OutputView = TensorView<T, typename LayerType::OutputShape, B>;

    explicit StandaloneLayer(const Spec& spec, std::size_t batch_capacity, std::uint64_t seed = 0)
        : layer_(spec), capacity_(batch_capacity) {
        values_ = Buffer<T, B>(layer_.parameter_count());
        gradients_ = Buffer<T, B>(layer_.parameter_count());
        layer_.bind_parameters(values_.data(), gradients_.data());
        layer_.reserve(batch_capacity);
        Rng rng(seed);
        layer_.reset_parameters(rng);
    }

    LayerType& layer() { return layer_; }
    std::size_t batch_capacity() const { return capacity_; }
    std::size_t parameter_count() const { return layer_.parameter_count(); }
    T* parameters() { return values_.data(); }
    T* gradients() { return gradients_.data(); }
    void zero_grad() { B::fill(gradients_.data(), layer_.parameter_count(), T(0)); }

private:
    LayerType layer_;
    std::size_t capacity_;
    Buffer<T, B> values_;
    Buffer<T, B> gradients_;
};

}  // namespace strata
