// strata/layers/dropout.hpp — Dropout{rate}: inverted dropout, PyTorch's nn.Dropout.
//
// Input   any per-sample shape; output the same shape.
// Train   each element is kept with probability 1 - rate and scaled by 1/(1 - rate), or
//         zeroed; the mask is drawn from the Context's seeded Rng, one draw per element in
//         index order, so runs are reproducible. Evaluation (ctx.training false) is the
//         identity.
// Keeps   the mask (one byte per element, sized at the batch capacity by reserve()).
#pragma once

#include <vector>

#include "strata/core/layer.hpp"

namespace strata {

template <class T, class B, ShapeType S>
class DropoutLayer : public ParameterFree<T> {
public:
    using Scalar = T;
    using Backend = B;
    using InputScalar = T;
    using InputShape = S;
    using OutputShape = S;

    template <class Spec>
    explicit DropoutLayer(const Spec& spec) : rate_(spec.rate) {
        require(spec.rate >= 0.0 && spec.rate < 1.0,
                "strata::Dropout: rate must be in [0, 1), got ", spec.rate);
    }

    void reserve(std::size_t batch_capacity) {
        host_mask_.assign(batch_capacity * S::size, 0);
        mask_ = Buffer<std::uint8_t, B>(batch_capacity * S::size);
    }

    void forward(const Context& ctx, TensorView<const T, S, B> in, TensorView<T, S, B> out) {
        active_ = ctx.training && rate_ > 0.0;
        if (!active_) {
            B::copy(in.data, in.size(), out.data);
            return;
        }
        require(ctx.rng != nullptr, "strata::Dropout: training needs an Rng in the Context");
        const std::size_t count = in.size();
        for (std::size_t i = 0; i < count; ++i) host_mask_[i] = ctx.rng->uniform() >= rate_ ? 1 : 0;
        B::copy_from_host(host_mask_.data(), count, mask_.data());
        B::masked_scale(count, in.data, mask_.data(), static_cast<T>(1.0 / (1.0 - rate_)), out.data);
    }

    void backward(const Context&, TensorView<const T, S, B>, TensorView<const T, S, B>,
                  TensorView<const T, S, B> d_out, TensorView<T, S, B> d_in) {
        if (d_in.empty()) return;
        if (!active_) {
            B::copy(d_out.data, d_out.size(), d_in.data);
            return;
        }
        B::masked_scale(d_out.size(), d_out.data, mask_.data(), static_cast<T>(1.0 / (1.0 - rate_)), d_in.data);
    }

    double rate() const { return rate_; }

private:
    double rate_;
    bool active_ = false;
    std::vector<std::uint8_t> host_mask_;
    Buffer<std::uint8_t, B> mask_;
};

struct Dropout {
    double rate = 0.5;
    using expected_input = void;
    template <class InputShape>
    static constexpr bool accepts = true;
    template <class T, class B, class InputShape>
    using bind = DropoutLayer<T, B, InputShape>;
};

}  // namespace strata
