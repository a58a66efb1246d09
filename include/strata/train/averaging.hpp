// strata/train/averaging.hpp — an exponential moving average of a model's parameters.
//
// ParameterAverage keeps a shadow copy of the flat parameter arena. After each optimizer
// step, update() moves it towards the current parameters: shadow = d·shadow + (1 - d)·p,
// with the decay warmed up as min(d, (1 + n) / (10 + n)) after n updates so early steps
// are not dominated by the initialisation. swap() exchanges the shadow and the model's
// parameters (call it before evaluating with the averaged weights, and again to resume
// training). Buffers are made once; update() and swap() never allocate.
#pragma once

#include <algorithm>
#include <utility>

#include "strata/core/error.hpp"
#include "strata/core/tensor.hpp"

namespace strata {

template <class Model>
class ParameterAverage {
public:
    using T = typename Model::Scalar;
    using B = typename Model::Backend;

    ParameterAverage(Model& model, double decay) : model_(model), decay_(decay), shadow_(model.parameter_count()) {
        require(decay >= 0.0 && decay < 1.0, "strata::ParameterAverage: decay must be in [0, 1), got ", decay);
        B::copy(model.parameters(), model.parameter_count(), shadow_.data());
    }

    void update() {
        const double warm = (1.0 + static_cast<double>(updates_)) / (10.0 + static_cast<double>(updates_));
        const auto decay = static_cast<T>(std::min(decay_, warm));
        ++updates_;
        // shadow += (1 - d)·(p - shadow)
        B::lerp(model_.parameter_count(), static_cast<T>(1) - decay, model_.parameters(), shadow_.data());
    }

    // Exchanges the averaged and the current parameters.
    void swap() { B::swap_ranges(model_.parameter_count(), model_.parameters(), shadow_.data()); }

    const T* averaged() const { return shadow_.data(); }

private:
    Model& model_;
    double decay_;
    Buffer<T, B> shadow_;
    long updates_ = 0;
};

}  // namespace strata
