// strata/core/activation.hpp — the element-wise activations backends implement and
// layers (ActivationLayer, Conv1D's fused activation) name.
#pragma once

namespace strata {

enum class Activation { identity, relu, tanh, sigmoid };

}  // namespace strata
