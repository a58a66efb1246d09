// strata/train/loss.hpp — softmax cross-entropy over class logits.
//
// Input   logits: batch × Classes (a Shape<Classes> output), labels in [0, Classes).
// Result  the MEAN loss over the batch (as PyTorch's nn.CrossEntropyLoss); the gradient of
//         that mean is written to the model's output gradient, and the probabilities are
//         kept (probabilities()).
// Option  label smoothing ε ∈ [0, 1): the target is (1-ε)·onehot + ε/Classes, PyTorch's
//         label_smoothing.
// Errors  a label outside [0, Classes) throws strata::Error naming the sample.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "strata/core/layer.hpp"

namespace strata {

template <class T, class B, std::size_t Classes>
class SoftmaxCrossEntropy {
public:
    using Logits = TensorView<const T, Shape<Classes>, B>;
    using LogitGradient = TensorView<T, Shape<Classes>, B>;

    explicit SoftmaxCrossEntropy(std::size_t batch_capacity, double label_smoothing = 0.0)
        : probabilities_(batch_capacity), label_smoothing_(label_smoothing) {
        require(label_smoothing >= 0.0 && label_smoothing < 1.0,
                "strata::SoftmaxCrossEntropy: label smoothing must be in [0, 1), got ", label_smoothing);
    }

    // Mean loss over logits.batch rows; writes ∂loss/∂logits into d_logits (skipped when empty).
    double operator()(Logits logits, std::span<const std::int32_t> labels, LogitGradient d_logits) {
        require(labels.size() == logits.batch, "strata::SoftmaxCrossEntropy: ", labels.size(), " labels for ", logits.batch, " samples");
        for (std::size_t b = 0; b < labels.size(); ++b)
            require(labels[b] >= 0 && static_cast<std::size_t>(labels[b]) < Classes,
                    "strata::SoftmaxCrossEntropy: label ", labels[b], " of sample ", b, " is outside [0, ", Classes, ")");
        const double total = B::softmax_cross_entropy(logits.batch, Classes, logits.data, labels.data(),
                                                      static_cast<T>(label_smoothing_),
                                                      probabilities_.view(logits.batch).data,
                                                      d_logits.empty() ? nullptr : d_logits.data);
        return total / static_cast<double>(logits.batch);
    }

    // Probabilities of the last call, batch × Classes, backend memory.
    const T* probabilities() const { return probabilities_.data(); }
    double label_smoothing() const { return label_smoothing_; }

private:
    Tensor<T, Shape<Classes>, B> probabilities_;
    double label_smoothing_;
};

}  // namespace strata
