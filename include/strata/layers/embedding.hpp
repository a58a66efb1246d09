// strata/layers/embedding.hpp — Embedding<TMax, Dim>{.vocabulary_size, .padding_id}: a
// lookup table of token vectors, PyTorch's nn.Embedding(V, Dim, padding_idx).
//
//   strata::Sequential<strata::Cpu, float,
//                      strata::Embedding<64, 128>, ...> net(32, {.vocabulary_size = V}, ...);
//
// Input   Shape<TMax> token ids (std::int32_t): the model's input (default_input_shape).
//         Ids at valid positions must lie in [0, V): forward throws strata::Error naming
//         the sample, position and id otherwise. Ids at padded positions (t ≥ L_b) are
//         never read and may hold anything.
// Output  Shape<TMax, Dim>: out[b, t] = weight[ids[b, t]] for t < L_b, 0 for t ≥ L_b.
// Params  weight [V, Dim] (state_dict name "weight"); V = vocabulary_size is a runtime
//         value (≥ 1), fixed when the layer is built.
// Init    PyTorch's: N(0, 1), then the padding row set to 0.
// Padding padding_id ∈ [0, V) (default 0), or -1 for none (unlike PyTorch, where a
//         negative padding_idx counts from the end). As in PyTorch, the padding row is
//         gathered as it is (zero unless the caller wrote into it) and never receives a
//         gradient.
// Backward  weight_gradient[id] += d_out[b, t] over valid positions with id ≠ padding_id,
//         correct for repeated ids (a deterministic scatter-add: threads split the feature
//         columns, each column is summed in token order). There is no input gradient (ids
//         are integers): d_in is ignored. The distinct rows that received gradient are kept
//         (touched_rows(), ascending) so a sparse optimizer could update only those.
// Keeps   nothing from forward (backward reads the ids passed back to it).
// Cost    forward: Σ L_b row copies of Dim; backward: Σ L_b row additions of Dim.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "strata/core/init.hpp"
#include "strata/core/layer.hpp"

namespace strata {

template <class T, class B, std::size_t TMax, std::size_t Dim>
class EmbeddingLayer {
public:
    using Scalar = T;
    using Backend = B;
    using InputScalar = std::int32_t;
    using InputShape = Shape<TMax>;
    using OutputShape = Shape<TMax, Dim>;

    template <class Spec>
    explicit EmbeddingLayer(const Spec& spec) : vocabulary_(spec.vocabulary_size), padding_id_(spec.padding_id) {
        require(spec.vocabulary_size >= 1, "strata::Embedding: vocabulary_size must be at least 1, got 0 (set "
                                           "it in the spec: Embedding<T, D>{.vocabulary_size = V})");
        require(spec.vocabulary_size <= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()),
                "strata::Embedding: vocabulary_size ", spec.vocabulary_size, " does not fit the std::int32_t token ids");
        require(spec.padding_id >= -1 && static_cast<std::int64_t>(spec.padding_id) <
                                             static_cast<std::int64_t>(spec.vocabulary_size),
                "strata::Embedding: padding_id ", spec.padding_id, " is outside [0, ", spec.vocabulary_size, ") and is not -1 (no padding)");
        weight_shape_ = {static_cast<std::int64_t>(vocabulary_), static_cast<std::int64_t>(Dim)};
    }

    std::size_t vocabulary_size() const { return vocabulary_; }
    std::int32_t padding_id() const { return padding_id_; }

    std::size_t parameter_count() const { return vocabulary_ * Dim; }
    void bind_parameters(T* values, T* gradients) {
        weight_ = values;
        weight_gradient_ = gradients;
    }
    void reset_parameters(Rng& rng) {
        init::normal<Backend>(rng, 0.0, 1.0, weight_, vocabulary_ * Dim);
        if (padding_id_ >= 0) B::fill(weight_ + static_cast<std::size_t>(padding_id_) * Dim, Dim, T(0));
    }
    void reserve(std::size_t batch_capacity) {
        seen_.assign(vocabulary_, 0);
        touched_.assign(std::min(vocabulary_, batch_capacity * TMax), 0);
        touched_count_ = 0;
    }

    void forward(const Context& ctx, TensorView<const std::int32_t, InputShape, B> ids,
                 TensorView<T, OutputShape, B> out) {
        const std::int32_t* lengths = ctx.lengths.empty() ? nullptr : ctx.lengths.data();
        const std::ptrdiff_t invalid = B::find_invalid_token(ids.batch, TMax, lengths, ids.data, vocabulary_);
        if (invalid >= 0) {
            const auto at = static_cast<std::size_t>(invalid);
            throw Error("strata::Embedding: token id " + std::to_string(ids.data[at]) + " at sample " +
                        std::to_string(at / TMax) + ", position " + std::to_string(at % TMax) +
                        " is outside the vocabulary [0, " + std::to_string(vocabulary_) + ")");
        }
        B::template embedding_gather<Dim>(ids.batch, TMax, lengths, ids.data, weight_, out.data);
    }

    void backward(const Context& ctx, TensorView<const std::int32_t, InputShape, B> ids,
                  TensorView<const T, OutputShape, B>, TensorView<const T, OutputShape, B> d_out,
                  TensorView<T, InputShape, B>) {
        const std::int32_t* lengths = ctx.lengths.empty() ? nullptr : ctx.lengths.data();
        B::template embedding_scatter_add<Dim>(ids.batch, TMax, lengths, ids.data, padding_id_, d_out.data,
                                               weight_gradient_);
        if (!seen_.empty())
            touched_count_ = B::collect_touched_rows(ids.batch, TMax, lengths, ids.data, padding_id_, seen_.data(),
                                                     vocabulary_, touched_.data());
    }

    // The distinct rows (ascending) that the last backward added gradient to.
    std::span<const std::int32_t> touched_rows() const { return {touched_.data(), touched_count_}; }

    template <class F>
    void for_each_parameter(F&& visit) {
        visit(ParameterRef<T>{"weight", weight_, weight_gradient_, weight_shape_});
    }

    const T* weight() const { return weight_; }

private:
    std::size_t vocabulary_;
    std::int32_t padding_id_;
    std::array<std::int64_t, 2> weight_shape_{};
    T* weight_ = nullptr;
    T* weight_gradient_ = nullptr;
    // Host bookkeeping for touched_rows(), sized by reserve().
    std::vector<std::uint8_t> seen_;
    std::vector<std::int32_t> touched_;
    std::size_t touched_count_ = 0;
};

// The spec. TMax: the longest text; Dim: the vector size. vocabulary_size must be set.
template <std::size_t TMax, std::size_t Dim>
struct Embedding {
    static_assert(TMax > 0 && Dim > 0, "strata::Embedding: sizes must be positive");
    std::size_t vocabulary_size = 0;
    std::int32_t padding_id = 0;

    using expected_input = Shape<TMax>;
    using default_input_shape = Shape<TMax>;
    template <class InputShape>
    static constexpr bool accepts = std::is_same_v<InputShape, Shape<TMax>>;
    template <class T, class Backend, class InputShape>
    using bind = EmbeddingLayer<T, Backend, TMax, Dim>;
};

}  // namespace strata
