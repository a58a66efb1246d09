// strata/layers/attention.hpp — MultiHeadAttention<Dim, Heads>{dropout}: multi-head
// self-attention with a key-padding mask, PyTorch's nn.MultiheadAttention(Dim, Heads,
// batch_first=True) called as mha(x, x, x, key_padding_mask = padded positions).
//
//   using Net = Sequential<Cpu, float, Input<64, 128>, ..., MultiHeadAttention<128, 4>, ...>;
//   MultiHeadAttention<128, 4>{.dropout = 0.1}      // attention-weight dropout, training only
//
// Input   Shape<T, Dim> (a sequence of T ≥ 1 positions of Dim features); output the same
//         shape. Text b has ctx.length(b, T) valid positions L_b.
// Params  (state_dict order and layouts, names as PyTorch's)
//           in_proj_weight   [3·Dim, Dim]   rows [W_q; W_k; W_v]
//           in_proj_bias     [3·Dim]        [b_q; b_k; b_v]
//           out_proj.weight  [Dim, Dim]
//           out_proj.bias    [Dim]
// Init    as PyTorch: in_proj_weight xavier-uniform (fan_in Dim, fan_out 3·Dim, bound
//         √(6 / 4·Dim)); out_proj.weight uniform ±1/√Dim (nn.Linear's default); both biases 0.
//
// Math    per text b (X_b its L_b valid rows), head h of size d = Dim / Heads:
//           [Q | K | V] = X_b W_inᵀ + b_in                          (L_b × 3·Dim)
//           S_h = Q_h K_hᵀ / √d                                    (L_b × L_b)
//           P_h = softmax over keys of S_h    (only the L_b valid keys: padded keys masked out)
//           P'_h = dropout(P_h)               (training with dropout > 0: ⊙ mask / (1 - p))
//           C = [P'_1 V_1 | … | P'_H V_H];   Y_b = C W_outᵀ + b_out
//         Output rows of padded positions are 0 (PyTorch computes them as ordinary queries
//         over the valid keys; strata zeroes them), padded inputs are never read, and padded
//         positions get d_in = 0 and contribute no gradient.
//
// How     valid positions are PACKED (no padding between texts, see
//         backend/cpu/attention_ops.hpp), so every product runs over valid tokens only:
//           forward   pack X → one GEMM [N × Dim]·[Dim × 3·Dim] (+bias) → fused per (text, head)
//                     scores + masked softmax + dropout + P'V → one GEMM [N × Dim]·[Dim × Dim]
//                     → unpack (+bias, zeros at padded rows)
//           backward  pack dY → dW_out += dYᵀC, db_out += Σ dY, dC = dY W_out (GEMMs) → fused
//                     per (text, head) softmax backward giving [dQ | dK | dV] → dW_in +=
//                     dQKVᵀ X, db_in += Σ dQKV, dX = dQKV W_in (GEMMs) → unpack (zeros)
//         N = Σ_b L_b. Parameter gradients ACCUMULATE; d_in is OVERWRITTEN.
// Keeps   the packed input X, [Q | K | V], the context C and the softmax weights P of every
//         (text, head) (and the dropout mask): backward needs all of them.
// Cost    forward 2·(4·N·Dim² + 2·Dim·Σ_b L_b²) flops (+ Heads·Σ L_b² exponentials);
//         backward about twice that (one GEMM fewer without d_in).
// Weights attention_weights() gives the weights of the last forward as [B, Heads, T, T]
//         (query rows, key columns; after dropout when it was active, as PyTorch returns
//         them), zero at padded keys and padded query rows.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "strata/backend/cpu/attention_ops.hpp"  // PackedAttentionBatch (backend-neutral)
#include "strata/core/init.hpp"
#include "strata/core/layer.hpp"
#include "strata/core/packed_weight.hpp"

namespace strata {


template <class T, class B, ShapeType InShape, std::size_t Dim, std::size_t Heads>
class MultiHeadAttentionLayer {
    static_assert(InShape::rank == 2 && InShape::last == Dim,
                  "strata::MultiHeadAttention: the input must be a sequence Shape<T, Dim>");

public:
    using Scalar = T;
    using Backend = B;
    using InputScalar = T;
    using InputShape = InShape;
    using OutputShape = InShape;
    static constexpr std::size_t max_time = InShape::dims[0];
    static constexpr std::size_t embed_dim = Dim;
    static constexpr std::size_t num_heads = Heads;
    static constexpr std::size_t head_dim = Dim / Heads;

    template <class Spec>
    explicit MultiHeadAttentionLayer(const Spec& spec) : dropout_(spec.dropout) {
        require(spec.dropout >= 0.0 && spec.dropout < 1.0,
                "strata::MultiHeadAttention: dropout must be in [0, 1), got ", spec.dropout);
    }

    // ---- parameters -----------------------------------------------------------------------
    std::size_t parameter_count() const { return 3 * Dim * Dim + 3 * Dim + Dim * Dim + Dim; }

    void bind_parameters(T* values, T* gradients) {
        T* value = values;
        T* gradient = gradients;
        auto take = [&](T*& v, T*& g, std::size_t count) {
            v = value;
            g = gradient;
            value += count;
            gradient += count;
        };
        take(in_proj_weight_, in_proj_weight_gradient_, 3 * Dim * Dim);
        take(in_proj_bias_, in_proj_bias_gradient_, 3 * Dim);
        take(out_proj_weight_, out_proj_weight_gradient_, Dim * Dim);
        take(out_proj_bias_, out_proj_bias_gradient_, Dim);
    }

    void reset_parameters(Rng& rng) {
        // xavier_uniform_ on the [3·Dim, Dim] tensor: fan_in = Dim, fan_out = 3·Dim.
        init::xavier_uniform<Backend>(rng, Dim, 3 * Dim, in_proj_weight_, 3 * Dim * Dim);
        init::constant<Backend>(T(0), in_proj_bias_, 3 * Dim);
        init::uniform<Backend>(rng, 1.0 / std::sqrt(static_cast<double>(Dim)), out_proj_weight_, Dim * Dim);
        init::constant<Backend>(T(0), out_proj_bias_, Dim);
    }

    template <class F>
    void for_each_parameter(F&& visit) {
        visit(ParameterRef<T>{"in_proj_weight", in_proj_weight_, in_proj_weight_gradient_, in_proj_weight_shape});
        visit(ParameterRef<T>{"in_proj_bias", in_proj_bias_, in_proj_bias_gradient_, in_proj_bias_shape});
        visit(ParameterRef<T>{"out_proj.weight", out_proj_weight_, out_proj_weight_gradient_, out_proj_weight_shape});
        visit(ParameterRef<T>{"out_proj.bias", out_proj_bias_, out_proj_bias_gradient_, out_proj_bias_shape});
    }

    // ---- workspace ------------------------------------------------------------------------
    void reserve(std::size_t batch_capacity) {
        capacity_ = batch_capacity;
        const std::size_t rows = batch_capacity * max_time;
        const std::size_t weights = batch_capacity * Heads * max_time * max_time;
        packed_input_ = Buffer<T, B>(rows * Dim);
        qkv_ = Buffer<T, B>(rows * 3 * Dim);
        context_ = Buffer<T, B>(rows * Dim);
        rows_ = Buffer<T, B>(rows * Dim);
        d_context_ = Buffer<T, B>(rows * Dim);
        d_qkv_ = Buffer<T, B>(rows * 3 * Dim);
        transposed_ = Buffer<T, B>(rows * Dim);
        weights_ = Buffer<T, B>(weights);
        d_scores_ = Buffer<T, B>(weights);
        if (dropout_ > 0.0) {
            host_mask_.assign(weights, 0);
            mask_ = Buffer<std::uint8_t, B>(weights);
        }
        row_offsets_.assign(batch_capacity + 1, 0);
        weight_offsets_.assign(batch_capacity + 1, 0);
    }

    // Inference keeps both projections packed for the GEMM (core/packed_weight.hpp;
    // Sequential decides).
    void pack_weights() {
        packed_in_proj_.pack(in_proj_weight_);
        packed_out_proj_.pack(out_proj_weight_);
    }
    void drop_packed_weights() {
        packed_in_proj_.drop();
        packed_out_proj_.drop();
    }

    // ---- forward and backward -------------------------------------------------------------
    void forward(const Context& ctx, TensorView<const T, InShape, B> in, TensorView<T, InShape, B> out) {
        const PackedAttentionBatch packing = pack_lengths(ctx);
        const std::size_t N = packing.rows();
        T* X = packed_input_.data();
        T* qkv = qkv_.data();
        B::template attention_pack_rows<Dim>(packing, max_time, in.data, X);
        packed_in_proj_.multiply(!ctx.training, N, X, Dim, in_proj_weight_, Dim, qkv, 3 * Dim);
        B::add_row_vector(N, 3 * Dim, in_proj_bias_, qkv, 3 * Dim);

        dropout_active_ = ctx.training && dropout_ > 0.0;
        if (dropout_active_) draw_mask(ctx, packing);
        B::template attention_forward<Heads, head_dim>(packing, qkv, attention_scale(), mask(), keep_scale(),
                                                       weights_.data(), transposed_.data(), context_.data());

        packed_out_proj_.multiply(!ctx.training, N, context_.data(), Dim, out_proj_weight_, Dim, rows_.data(), Dim);
        B::template attention_unpack_rows<Dim>(packing, max_time, rows_.data(), out_proj_bias_, out.data);
    }

    // Uses what forward kept (packed X, Q/K/V, C, P): call it after the forward of the same batch.
    void backward(const Context& ctx, TensorView<const T, InShape, B>, TensorView<const T, InShape, B>,
                  TensorView<const T, InShape, B> d_out, TensorView<T, InShape, B> d_in) {
        require(ctx.batch == packing_.batch, "strata::MultiHeadAttention::backward: the batch differs from "
                                             "the last forward's");
        const PackedAttentionBatch packing = packing_;
        const std::size_t N = packing.rows();
        T* d_rows = rows_.data();
        T* d_context = d_context_.data();
        T* d_qkv = d_qkv_.data();
        B::template attention_pack_rows<Dim>(packing, max_time, d_out.data, d_rows);
        // Output projection: dW_out += dYᵀ C, db_out += Σ_rows dY, dC = dY W_out.
        B::gemm(Transpose::yes, Transpose::no, Dim, Dim, N, T(1), d_rows, Dim, context_.data(), Dim, T(1),
                out_proj_weight_gradient_, Dim);
        B::accumulate_column_sums(N, Dim, d_rows, Dim, out_proj_bias_gradient_);
        B::gemm(Transpose::no, Transpose::no, N, Dim, Dim, T(1), d_rows, Dim, out_proj_weight_, Dim, T(0), d_context,
                Dim);

        B::template attention_backward<Heads, head_dim>(packing, qkv_.data(), weights_.data(), mask(), keep_scale(),
                                                        attention_scale(), d_context, d_scores_.data(),
                                                        transposed_.data(), d_qkv);

        // In-projection: dW_in += dQKVᵀ X, db_in += Σ_rows dQKV, dX = dQKV W_in.
        B::gemm(Transpose::yes, Transpose::no, 3 * Dim, Dim, N, T(1), d_qkv, 3 * Dim, packed_input_.data(), Dim, T(1),
                in_proj_weight_gradient_, Dim);
        B::accumulate_column_sums(N, 3 * Dim, d_qkv, 3 * Dim, in_proj_bias_gradient_);
        if (d_in.empty()) return;
        T* d_input_rows = d_context;  // dC is no longer needed
        B::gemm(Transpose::no, Transpose::no, N, Dim, 3 * Dim, T(1), d_qkv, 3 * Dim, in_proj_weight_, Dim, T(0),
                d_input_rows, Dim);
        B::template attention_unpack_rows<Dim>(packing, max_time, d_input_rows, static_cast<const T*>(nullptr),
                                               d_in.data);
    }

    // ---- the attention weights of the last forward -------------------------------------------
    // Writes them to host memory as [batch, Heads, T, T] (query rows, key columns), zero at
    // padded keys and padded queries; after dropout when the last forward applied it.
    void attention_weights(std::span<T> destination) const {
        const PackedAttentionBatch& packing = packing_;
        require(destination.size() == packing.batch * Heads * max_time * max_time,
                "strata::MultiHeadAttention::attention_weights: the destination holds ", destination.size(), " values, [batch, heads, T, T] needs ", packing.batch * Heads * max_time * max_time);
        std::vector<T> block(max_time * max_time);
        std::vector<std::uint8_t> keep(max_time * max_time);
        std::fill(destination.begin(), destination.end(), T(0));
        for (std::size_t b = 0; b < packing.batch; ++b) {
            const std::size_t L = packing.length(b);
            for (std::size_t h = 0; h < Heads; ++h) {
                const std::size_t offset = packing.weight_offsets[b] + h * L * L;
                B::copy_to_host(weights_.data() + offset, L * L, block.data());
                if (dropout_active_) B::copy_to_host(mask_.data() + offset, L * L, keep.data());
                T* target = destination.data() + (b * Heads + h) * max_time * max_time;
                for (std::size_t i = 0; i < L; ++i)
                    for (std::size_t j = 0; j < L; ++j) {
                        T w = block[i * L + j];
                        if (dropout_active_) w = keep[i * L + j] ? w * keep_scale() : T(0);
                        target[i * max_time + j] = w;
                    }
            }
        }
    }
    std::vector<T> attention_weights() const {
        std::vector<T> weights(packing_.batch * Heads * max_time * max_time);
        attention_weights(weights);
        return weights;
    }

    double dropout() const { return dropout_; }
    const T* in_proj_weight() const { return in_proj_weight_; }
    const T* in_proj_bias() const { return in_proj_bias_; }
    const T* out_proj_weight() const { return out_proj_weight_; }
    const T* out_proj_bias() const { return out_proj_bias_; }

private:
    static constexpr std::array<std::int64_t, 2> in_proj_weight_shape{3 * Dim, Dim};
    static constexpr std::array<std::int64_t, 1> in_proj_bias_shape{3 * Dim};
    static constexpr std::array<std::int64_t, 2> out_proj_weight_shape{Dim, Dim};
    static constexpr std::array<std::int64_t, 1> out_proj_bias_shape{Dim};

    static T attention_scale() { return static_cast<T>(1.0 / std::sqrt(static_cast<double>(head_dim))); }
    T keep_scale() const { return static_cast<T>(1.0 / (1.0 - dropout_)); }
    const std::uint8_t* mask() const { return dropout_active_ ? mask_.data() : nullptr; }

    // Offsets of every text's packed rows and weight blocks (host, sized by reserve()).
    PackedAttentionBatch pack_lengths(const Context& ctx) {
        require(ctx.batch <= capacity_, "strata::MultiHeadAttention: batch ", ctx.batch, " exceeds the capacity ", capacity_, " given to reserve()");
        for (std::size_t b = 0; b < ctx.batch; ++b) {
            const std::size_t L = ctx.length(b, max_time);
            row_offsets_[b + 1] = row_offsets_[b] + L;
            weight_offsets_[b + 1] = weight_offsets_[b] + Heads * L * L;
        }
        packing_ = PackedAttentionBatch{ctx.batch, row_offsets_.data(), weight_offsets_.data()};
        return packing_;
    }

    // One draw per weight of every (text, head) block, in order b, h, query, key.
    void draw_mask(const Context& ctx, const PackedAttentionBatch& packing) {
        require(ctx.rng != nullptr, "strata::MultiHeadAttention: training with dropout needs an Rng in the Context");
        const std::size_t count = packing.weight_offsets[packing.batch];
        for (std::size_t i = 0; i < count; ++i) host_mask_[i] = ctx.rng->uniform() >= dropout_ ? 1 : 0;
        B::copy_from_host(host_mask_.data(), count, mask_.data());
    }

    double dropout_;
    bool dropout_active_ = false;
    std::size_t capacity_ = 0;

    T* in_proj_weight_ = nullptr;
    T* in_proj_weight_gradient_ = nullptr;
    T* in_proj_bias_ = nullptr;
    T* in_proj_bias_gradient_ = nullptr;
    T* out_proj_weight_ = nullptr;
    PackedWeight<T, B, 3 * Dim, Dim> packed_in_proj_;
    PackedWeight<T, B, Dim, Dim> packed_out_proj_;
    T* out_proj_weight_gradient_ = nullptr;
    T* out_proj_bias_ = nullptr;
    T* out_proj_bias_gradient_ = nullptr;

    Buffer<T, B> packed_input_;  // X, valid rows packed              [N, Dim]
    Buffer<T, B> qkv_;           // [Q | K | V]                        [N, 3·Dim]
    Buffer<T, B> context_;       // C                                  [N, Dim]
    Buffer<T, B> rows_;          // Y before unpacking; dY packed      [N, Dim]
    Buffer<T, B> d_context_;     // dC; then dX before unpacking       [N, Dim]
    Buffer<T, B> d_qkv_;         // [dQ | dK | dV]                     [N, 3·Dim]
    Buffer<T, B> transposed_;    // per-block Kᵀ / Vᵀ scratch           [N, Dim]
    Buffer<T, B> weights_;       // P per (text, head), L_b × L_b blocks
    Buffer<T, B> d_scores_;      // dS, same layout
    Buffer<std::uint8_t, B> mask_;
    std::vector<std::uint8_t> host_mask_;
    std::vector<std::size_t> row_offsets_;
    std::vector<std::size_t> weight_offsets_;
    PackedAttentionBatch packing_{};
};

// The spec: MultiHeadAttention<Dim, Heads> with attention-weight dropout (training only).
template <std::size_t Dim, std::size_t Heads>
struct MultiHeadAttention {
    static_assert(Dim > 0 && Heads > 0, "strata::MultiHeadAttention: sizes must be positive");
    static_assert(Dim % Heads == 0, "strata::MultiHeadAttention: Dim must be a multiple of Heads");
    double dropout = 0.0;
    using expected_input = SequenceOf<Dim>;
    template <class InputShape>
    static constexpr bool accepts = InputShape::rank == 2 && InputShape::last == Dim;
    template <class T, class Backend, class InputShape>
    using bind = MultiHeadAttentionLayer<T, Backend, InputShape, Dim, Heads>;
};

}  // namespace strata
