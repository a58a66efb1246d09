// strata/train/optimizers.hpp — SGD (momentum, Nesterov, weight decay), Adam and AdamW,
// each exactly PyTorch's torch.optim update.
//
// An optimizer works on a model's flat parameter and gradient arenas: one step is one loop
// over one buffer, with its state (momentum, moments) in buffers of the same size, made
// when the optimizer is built. step() never allocates. The model must outlive the
// optimizer.
#pragma once

#include <string>

#include "strata/core/error.hpp"
#include "strata/core/tensor.hpp"

namespace strata {

struct SgdOptions {
    double learning_rate = 0.01;
    double momentum = 0.0;
    double dampening = 0.0;
    double weight_decay = 0.0;
    bool nesterov = false;
};

template <class Model>
class Sgd {
public:
    using T = typename Model::Scalar;
    using B = typename Model::Backend;

    Sgd(Model& model, SgdOptions options) : model_(model), options_(options) {
        require(options.learning_rate >= 0.0, "strata::Sgd: learning rate must be ≥ 0");
        require(options.momentum >= 0.0, "strata::Sgd: momentum must be ≥ 0");
        require(!options.nesterov || (options.momentum > 0.0 && options.dampening == 0.0),
                "strata::Sgd: Nesterov momentum needs momentum > 0 and no dampening");
        if (options.momentum != 0.0) momentum_ = Buffer<T, B>(model.parameter_count());
    }

    void step() {
        B::sgd_step(model_.parameter_count(), model_.parameters(), model_.gradients(), momentum_.data(),
                    static_cast<T>(options_.learning_rate), static_cast<T>(options_.momentum),
                    static_cast<T>(options_.dampening), static_cast<T>(options_.weight_decay), options_.nesterov,
                    steps_ == 0);
        ++steps_;
    }
    void set_learning_rate(double learning_rate) { options_.learning_rate = learning_rate; }
    double learning_rate() const { return options_.learning_rate; }
    long steps() const { return steps_; }

private:
    Model& model_;
    SgdOptions options_;
    Buffer<T, B> momentum_;
    long steps_ = 0;
};

struct AdamOptions {
    double learning_rate = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double epsilon = 1e-8;
    double weight_decay = 0.0;
    // false: Adam's L2 penalty (g += wd·p); true: AdamW's decoupled decay (p *= 1 - lr·wd).
    bool decoupled_weight_decay = false;
};

template <class Model>
class Adam {
public:
    using T = typename Model::Scalar;
    using B = typename Model::Backend;

    Adam(Model& model, AdamOptions options)
        : model_(model),
          options_(options),
          first_moment_(model.parameter_count()),
          second_moment_(model.parameter_count()) {
        require(options.learning_rate >= 0.0, "strata::Adam: learning rate must be ≥ 0");
        require(options.beta1 >= 0.0 && options.beta1 < 1.0 && options.beta2 >= 0.0 && options.beta2 < 1.0,
                "strata::Adam: betas must be in [0, 1)");
        require(options.epsilon >= 0.0, "strata::Adam: epsilon must be ≥ 0");
    }

    void step() {
        ++steps_;
        B::adam_step(model_.parameter_count(), model_.parameters(), model_.gradients(), first_moment_.data(),
                     second_moment_.data(), options_.learning_rate, options_.beta1, options_.beta2, options_.epsilon,
                     options_.weight_decay, options_.decoupled_weight_decay, steps_);
    }
    void set_learning_rate(double learning_rate) { options_.learning_rate = learning_rate; }
    double learning_rate() const { return options_.learning_rate; }
    long steps() const { return steps_; }
    const AdamOptions& options() const { return options_; }

private:
    Model& model_;
    AdamOptions options_;
    Buffer<T, B> first_moment_;
    Buffer<T, B> second_moment_;
    long steps_ = 0;
};

// AdamW: Adam with decoupled weight decay (PyTorch's default weight_decay for AdamW is 0.01).
template <class Model>
Adam<Model> make_adamw(Model& model, AdamOptions options) {
    options.decoupled_weight_decay = true;
    return Adam<Model>(model, options);
}

}  // namespace strata
