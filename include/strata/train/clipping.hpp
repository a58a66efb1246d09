// strata/train/clipping.hpp — gradient-norm clipping, PyTorch's clip_grad_norm_.
//
// Computes the global L2 norm of every gradient in the model's flat gradient arena
// (accumulated in double, in a fixed order), and when it exceeds max_norm scales all
// gradients by max_norm / (norm + 1e-6). Returns the norm before clipping (non-finite when
// a gradient is: callers should check it before stepping).
#pragma once

#include <cmath>

#include "strata/core/error.hpp"

namespace strata {

template <class Model>
double clip_gradient_norm(Model& model, double max_norm) {
    using T = typename Model::Scalar;
    using B = typename Model::Backend;
    require(max_norm > 0.0, "strata::clip_gradient_norm: max_norm must be > 0");
    const double norm = std::sqrt(B::sum_of_squares(model.parameter_count(), model.gradients()));
    const double coefficient = max_norm / (norm + 1e-6);
    if (std::isfinite(norm) && coefficient < 1.0)
        B::scale(model.parameter_count(), static_cast<T>(coefficient), model.gradients());
    return norm;
}

}  // namespace strata
