// strata/layers/gru.hpp — GRU<In, Hidden, Direction, Layers>: PyTorch's nn.GRU
// (batch_first) run on packed sequences.
//
//   strata::GRU<128, 128>                                   one layer, forward
//   strata::GRU<128, 64, strata::Direction::bidirectional>  outputs [forward 64 | backward 64]
//   strata::GRU<128, 128, strata::Direction::forward, 2>    two stacked layers
//
// Input   Shape<T_max, In> for any T_max (a sequence of In features per sample).
// Output  Shape<T_max, D·Hidden>, D = 2 when bidirectional (forward half, then backward
//         half, as PyTorch concatenates), else 1. The output of layer k is the input of
//         layer k + 1 (no inter-layer dropout); the layer's output is the last layer's.
// Lengths Each text runs over its own valid steps only, as pack_padded_sequence does:
//         h_0 = 0; the forward direction runs t = 0 … length-1, the backward direction
//         t = length-1 … 0 (it starts at the text's last VALID step, not at T_max - 1).
//         Inputs at padded steps are ignored, outputs there are 0.
// Params  per layer k and direction (state_dict order l0, l0_reverse, l1, …; suffix
//         "_reverse" for the backward direction), In_0 = In, In_k = D·Hidden for k > 0:
//           weight_ih_l{k} [3H, In_k]   weight_hh_l{k} [3H, H]
//           bias_ih_l{k}   [3H]         bias_hh_l{k}   [3H]
//         rows in PyTorch's gate order r, z, n. Init: PyTorch's, all uniform in ±1/√Hidden.
// Math    PyTorch's cell (x̂ = W_ih·x_t + b_ih, ĥ = W_hh·h_{t-1} + b_hh, split r|z|n):
//           r = σ(x̂_r + ĥ_r)   z = σ(x̂_z + ĥ_z)   n = tanh(x̂_n + r ⊙ ĥ_n)
//           h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
// Final   final_state(h_n) gives each text's state after its last valid step, per sample
//         [Layers·D, Hidden] in PyTorch's h_n order (h_n[:, b, :] of PyTorch).
// Keeps   (workspace sized by reserve(capacity) for T_max steps; forward and backward never
//         allocate) the packed input, every layer's packed output, and per layer and
//         direction and valid token the cell cache [r | z | n | W_hn·h + b_hn | h_{t-1}].
//         backward() must follow the forward() of the same batch (it uses these, not `in`).
// Packing Inside, tokens are packed time-major as PyTorch's PackedSequence: texts sorted
//         by length (longest first; a counting sort, ties by index), the n_t texts running
//         at step t are packed rows [offset_t, offset_t + n_t), so they are a prefix of the
//         rows of step t - 1 and each step's recurrent GEMM reads one contiguous block.
// Grads   d_in is overwritten (0 at padded steps); parameter gradients are accumulated.
// Cost    per layer and direction, over the N = Σ lengths valid tokens only:
//         forward   one GEMM N×In_k×3H (input projection of every step at once), then the
//                   recurrence (backend gru_forward_recurrence): per step t one GEMM
//                   n_t×H×3H over the texts still running and one fused cell update;
//         backward  the recurrence's gradient (gru_backward_recurrence): per step one fused
//                   cell gradient and one GEMM n_t×3H×H for ∂L/∂h_{t-1}; after the loop
//                   one GEMM each for dW_ih (3H×N×In_k), dW_hh (3H×N×H) and d_x (N×3H×In_k).
//         The backend runs a whole recurrence in one parallel region (threads own blocks
//         of hidden units, one barrier per step), not a fork/join per step.
//         Multiply-adds: 3H·(In_k + H) per token per direction, forward; twice that backward.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "strata/backend/cpu/gemm.hpp"  // strata::Transpose
#include "strata/core/init.hpp"
#include "strata/core/layer.hpp"
#include "strata/core/packed_weight.hpp"

namespace strata {

enum class Direction { forward, bidirectional };

template <class T, class B, ShapeType InShape, std::size_t Hidden, Direction Dir, std::size_t Layers>
class GRULayer {
    static_assert(InShape::rank == 2, "strata::GRU: the input must be a sequence, Shape<T_max, In>");

public:
    using Scalar = T;
    using Backend = B;
    using InputScalar = T;
    using InputShape = InShape;
    static constexpr std::size_t max_time = InShape::dims[0];
    static constexpr std::size_t in_features = InShape::last;
    static constexpr std::size_t hidden_size = Hidden;
    static constexpr std::size_t directions = Dir == Direction::bidirectional ? 2 : 1;
    static constexpr std::size_t layers = Layers;
    static constexpr std::size_t out_features = directions * Hidden;
    using OutputShape = Shape<max_time, out_features>;
    using FinalStateShape = Shape<Layers * directions, Hidden>;

    template <class Spec>
    explicit GRULayer(const Spec&) {}

    // Input features of layer k.
    static constexpr std::size_t layer_input_features(std::size_t k) { return k == 0 ? in_features : out_features; }
    // Parameters of one direction of layer k.
    static constexpr std::size_t cell_parameter_count(std::size_t k) {
        return gates * layer_input_features(k) + gates * Hidden + 2 * gates;
    }

    std::size_t parameter_count() const {
        std::size_t count = 0;
        for (std::size_t k = 0; k < Layers; ++k) count += directions * cell_parameter_count(k);
        return count;
    }

    void bind_parameters(T* values, T* gradients) {
        std::size_t offset = 0;
        for (std::size_t k = 0; k < Layers; ++k) {
            for (std::size_t d = 0; d < directions; ++d) {
                Cell& cell = cells_[k * directions + d];
                const std::size_t in_k = layer_input_features(k);
                T* const pointers[2] = {values + offset, gradients + offset};
                for (int g = 0; g < 2; ++g) {
                    T* p = pointers[g];
                    cell.weight_ih[g] = p;
                    cell.weight_hh[g] = p + gates * in_k;
                    cell.bias_ih[g] = p + gates * in_k + gates * Hidden;
                    cell.bias_hh[g] = p + gates * in_k + gates * Hidden + gates;
                }
                offset += cell_parameter_count(k);
            }
        }
    }

    void reset_parameters(Rng& rng) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(Hidden));
        for (std::size_t k = 0; k < Layers; ++k)
            for (std::size_t d = 0; d < directions; ++d)
                init::uniform<Backend>(rng, bound, cells_[k * directions + d].weight_ih[0], cell_parameter_count(k));
    }

    void reserve(std::size_t batch_capacity) {
        capacity_ = batch_capacity;
        const std::size_t tokens = batch_capacity * max_time;
        packed_input_ = Buffer<T, B>(tokens * in_features);
        for (auto& output : layer_outputs_) output = Buffer<T, B>(tokens * out_features);
        for (auto& cache : caches_) cache = Buffer<T, B>(tokens * cache_width);
        input_projection_ = Buffer<T, B>(tokens * gates);
        hidden_projection_ = Buffer<T, B>(batch_capacity * gates);
        d_input_gates_ = Buffer<T, B>(tokens * gates);
        d_hidden_gates_ = Buffer<T, B>(tokens * gates);
        d_carry_ = Buffer<T, B>(batch_capacity * Hidden);
        recurrence_workspace_ = Buffer<T, B>(B::template gru_workspace_size<Hidden, T>());
        constexpr std::size_t widest = std::max(in_features, out_features);
        d_packed_[0] = Buffer<T, B>(tokens * widest);
        d_packed_[1] = Buffer<T, B>(tokens * widest);
        pack_index_ = Buffer<std::int32_t, B>(tokens);
        unpack_index_ = Buffer<std::int32_t, B>(tokens);
        final_index_ = Buffer<std::int32_t, B>(batch_capacity);
        host_pack_index_.assign(tokens, 0);
        host_unpack_index_.assign(tokens, -1);
        host_final_index_.assign(batch_capacity, 0);
        rank_.assign(batch_capacity, 0);
        lengths_.assign(batch_capacity, 0);
    }

    // Inference keeps W_ih and W_hh packed for the GEMMs (core/packed_weight.hpp;
    // Sequential decides).
    void pack_weights() {
        for (std::size_t c = 0; c < Layers * directions; ++c) {
            if (c < directions) packed_ih_first_[c].pack(cells_[c].weight_ih[0]);
            else if constexpr (Layers > 1) packed_ih_stacked_[c - directions].pack(cells_[c].weight_ih[0]);
            if constexpr (Hidden % 16 == 0) packed_hh_[c].pack(cells_[c].weight_hh[0]);  // see gru_forward_recurrence
        }
    }
    void drop_packed_weights() {
        for (auto& p : packed_ih_first_) p.drop();
        for (auto& p : packed_ih_stacked_) p.drop();
        for (auto& p : packed_hh_) p.drop();
    }

    void forward(const Context& ctx, TensorView<const T, InputShape, Backend> in,
                 TensorView<T, OutputShape, Backend> out) {
        plan(ctx);
        use_packed_ = !ctx.training;
        B::template recurrent_gather_rows<in_features>(tokens_, pack_index_.data(), in.data, in_features,
                                                       packed_input_.data(), in_features);
        for (std::size_t k = 0; k < Layers; ++k) {
            if (k == 0) forward_layer<0>(packed_input_.data());
            else if constexpr (Layers > 1) forward_layer<1>(layer_outputs_[k - 1].data(), k);
        }
        B::template recurrent_gather_rows<out_features>(batch_ * max_time, unpack_index_.data(),
                                                        layer_outputs_[Layers - 1].data(), out_features,
                                                        out.data, out_features);
    }

    void backward(const Context& ctx, TensorView<const T, InputShape, Backend>, TensorView<const T, OutputShape, Backend>,
                  TensorView<const T, OutputShape, Backend> d_out, TensorView<T, InputShape, Backend> d_in) {
        if (ctx.batch != batch_ || !planned_)  // (no message built unless it fails: no allocation)
            throw Error("strata::GRU::backward: it must follow the forward pass of the same batch");
        // ∂L/∂(last layer's packed output), then down the stack.
        B::template recurrent_gather_rows<out_features>(tokens_, pack_index_.data(), d_out.data, out_features,
                                                        d_packed_[0].data(), out_features);
        std::size_t current = 0;
        for (std::size_t k = Layers; k-- > 0;) {
            const bool needs_input_gradient = k > 0 || !d_in.empty();
            T* d_input = needs_input_gradient ? d_packed_[1 - current].data() : nullptr;
            if (k == 0) backward_layer<0>(packed_input_.data(), d_packed_[current].data(), d_input);
            else if constexpr (Layers > 1)
                backward_layer<1>(layer_outputs_[k - 1].data(), d_packed_[current].data(), d_input, k);
            current = 1 - current;
        }
        if (!d_in.empty())
            B::template recurrent_gather_rows<in_features>(batch_ * max_time, unpack_index_.data(),
                                                           d_packed_[current].data(), in_features, d_in.data,
                                                           in_features);
    }

    // Each text's state after its last valid step (forward direction: step length-1;
    // backward direction: step 0), per sample [Layers·D, Hidden] in PyTorch's h_n order
    // (l0, l0_reverse, l1, …). Valid after forward(); h_n holds the forward's batch.
    void final_state(TensorView<T, FinalStateShape, Backend> h_n) {
        if (!planned_ || h_n.batch != batch_)
            throw Error("strata::GRU::final_state: call it after forward, with a view of the forward's batch");
        for (std::size_t d = 0; d < directions; ++d) {
            for (std::size_t b = 0; b < batch_; ++b) {
                const std::size_t step = d == 0 ? lengths_[b] - 1 : 0;
                host_final_index_[b] = static_cast<std::int32_t>(offsets_[step] + rank_[b]);
            }
            B::copy_from_host(host_final_index_.data(), batch_, final_index_.data());
            for (std::size_t k = 0; k < Layers; ++k)
                B::template recurrent_gather_rows<Hidden>(batch_, final_index_.data(), layer_outputs_[k].data() + d * Hidden,
                                                          out_features, h_n.data + (k * directions + d) * Hidden,
                                                          FinalStateShape::size);
        }
    }

    template <class F>
    void for_each_parameter(F&& visit) {
        for (std::size_t k = 0; k < Layers; ++k) {
            for (std::size_t d = 0; d < directions; ++d) {
                const Cell& cell = cells_[k * directions + d];
                const std::string suffix = "_l" + std::to_string(k) + (d == 1 ? "_reverse" : "");
                const std::string weight_ih = "weight_ih" + suffix, weight_hh = "weight_hh" + suffix,
                                  bias_ih = "bias_ih" + suffix, bias_hh = "bias_hh" + suffix;
                visit(ParameterRef<T>{weight_ih, cell.weight_ih[0], cell.weight_ih[1],
                                      k == 0 ? weight_ih_shape_first : weight_ih_shape_stacked});
                visit(ParameterRef<T>{weight_hh, cell.weight_hh[0], cell.weight_hh[1], weight_hh_shape});
                visit(ParameterRef<T>{bias_ih, cell.bias_ih[0], cell.bias_ih[1], bias_shape});
                visit(ParameterRef<T>{bias_hh, cell.bias_hh[0], cell.bias_hh[1], bias_shape});
            }
        }
    }

private:
    static constexpr std::size_t gates = 3 * Hidden;
    static constexpr std::size_t cache_width = 5 * Hidden;
    static constexpr std::array<std::int64_t, 2> weight_ih_shape_first{gates, in_features};
    static constexpr std::array<std::int64_t, 2> weight_ih_shape_stacked{gates, out_features};
    static constexpr std::array<std::int64_t, 2> weight_hh_shape{gates, Hidden};
    static constexpr std::array<std::int64_t, 1> bias_shape{gates};

    // Views of one direction of one layer: [0] values, [1] gradients.
    struct Cell {
        T* weight_ih[2]{};
        T* weight_hh[2]{};
        T* bias_ih[2]{};
        T* bias_hh[2]{};
    };

    // One step of the schedule: the texts running at step t are packed rows
    // [offsets_[t], offsets_[t] + running_[t]); see the backend's GruStep.
    using Step = typename B::GruStep;

    // The packing of this batch: texts sorted by length, longest first (ties by index),
    // with a counting sort (no allocation); the packed row of (b, t) is offsets_[t] + rank_[b].
    void plan(const Context& ctx) {
        if (ctx.batch < 1 || ctx.batch > capacity_)
            throw Error("strata::GRU: batch " + std::to_string(ctx.batch) + " is outside [1, " +
                        std::to_string(capacity_) + "] (the capacity given to reserve)");
        batch_ = ctx.batch;
        steps_ = ctx.time_steps(max_time);
        // greater[L] = #texts longer than L: texts of length L take the ranks from
        // greater[L] on, and greater[t] texts run at step t.
        std::array<std::size_t, max_time + 1> greater{};
        for (std::size_t b = 0; b < batch_; ++b) {
            lengths_[b] = ctx.length(b, max_time);
            if (lengths_[b] < 1 || lengths_[b] > max_time)
                throw Error("strata::GRU: length " + std::to_string(lengths_[b]) + " of sample " + std::to_string(b) +
                            " is outside [1, " + std::to_string(max_time) + "]");
            for (std::size_t L = 0; L < lengths_[b]; ++L) ++greater[L];
        }
        std::array<std::size_t, max_time + 1> next_rank = greater;
        for (std::size_t b = 0; b < batch_; ++b) rank_[b] = next_rank[lengths_[b]]++;
        tokens_ = 0;
        for (std::size_t t = 0; t < steps_; ++t) {
            offsets_[t] = tokens_;
            running_[t] = greater[t];
            tokens_ += greater[t];
        }
        offsets_[steps_] = tokens_;
        for (std::size_t b = 0; b < batch_; ++b) {
            std::int32_t* unpack = host_unpack_index_.data() + b * max_time;
            for (std::size_t t = 0; t < max_time; ++t) {
                if (t < lengths_[b]) {
                    const std::size_t row = offsets_[t] + rank_[b];
                    host_pack_index_[row] = static_cast<std::int32_t>(b * max_time + t);
                    unpack[t] = static_cast<std::int32_t>(row);
                } else {
                    unpack[t] = -1;
                }
            }
        }
        B::copy_from_host(host_pack_index_.data(), tokens_, pack_index_.data());
        B::copy_from_host(host_unpack_index_.data(), batch_ * max_time, unpack_index_.data());
        planned_ = true;
    }

    // Step t of direction d: the forward direction's state comes from step t-1, the
    // backward direction's from step t+1; running sets shrink with t, so either way the
    // texts with a previous state are a prefix of the running ones.
    Step step(std::size_t d, std::size_t t) const {
        Step s{offsets_[t], running_[t], 0, 0};
        if (d == 0 && t > 0) {
            s.rows_with_state = running_[t];
            s.previous_row = offsets_[t - 1];
        } else if (d == 1 && t + 1 < steps_) {
            s.rows_with_state = running_[t + 1];
            s.previous_row = offsets_[t + 1];
        }
        return s;
    }

    // Layer k (Stacked = 0 for the first layer, 1 for the others) on its packed input.
    template <int Stacked>
    void forward_layer(const T* input, std::size_t k = 0) {
        constexpr std::size_t in_k = Stacked ? out_features : in_features;
        T* output = layer_outputs_[k].data();
        for (std::size_t d = 0; d < directions; ++d) {
            const Cell& cell = cells_[k * directions + d];
            T* cache = caches_[k * directions + d].data();
            const std::size_t c = k * directions + d;
            // x̂ = W_ih·x for every valid token at once; b_ih is added in the cell update.
            if constexpr (Stacked)
                packed_ih_stacked_[c - directions].multiply(use_packed_, tokens_, input, in_k, cell.weight_ih[0], in_k,
                                                            input_projection_.data(), gates);
            else
                packed_ih_first_[c].multiply(use_packed_, tokens_, input, in_k, cell.weight_ih[0], in_k,
                                             input_projection_.data(), gates);
            for (std::size_t i = 0; i < steps_; ++i) schedule_[i] = step(d, d == 0 ? i : steps_ - 1 - i);
            B::template gru_forward_recurrence<Hidden>(steps_, schedule_.data(), input_projection_.data(),
                                                       cell.weight_hh[0], cell.bias_ih[0], cell.bias_hh[0],
                                                       output + d * Hidden, out_features, cache,
                                                       hidden_projection_.data(), recurrence_workspace_.data(),
                                                       use_packed_ ? packed_hh_[c].data() : nullptr);
        }
    }

    // Back through layer k: d_output is ∂L/∂(its packed output) [tokens, D·H]; writes
    // ∂L/∂(its packed input) to d_input unless null; accumulates the parameter gradients.
    template <int Stacked>
    void backward_layer(const T* input, const T* d_output, T* d_input, std::size_t k = 0) {
        constexpr std::size_t in_k = Stacked ? out_features : in_features;
        for (std::size_t d = 0; d < directions; ++d) {
            const Cell& cell = cells_[k * directions + d];
            const T* cache = caches_[k * directions + d].data();
            // Reverse of the forward's order: the forward direction from the last step down.
            for (std::size_t i = 0; i < steps_; ++i) schedule_[i] = step(d, d == 0 ? steps_ - 1 - i : i);
            B::template gru_backward_recurrence<Hidden>(steps_, schedule_.data(), d_output + d * Hidden, out_features,
                                                        cache, cell.weight_hh[0], d_carry_.data(),
                                                        d_input_gates_.data(), d_hidden_gates_.data(),
                                                        recurrence_workspace_.data());
            // Over every valid token at once: dW_ih += (∂L/∂x̂)ᵀ·x, dW_hh += (∂L/∂ĥ)ᵀ·h_prev
            // (h_prev from the cache, 0 where a text starts), the biases' column sums.
            B::gemm(Transpose::yes, Transpose::no, gates, in_k, tokens_, T(1), d_input_gates_.data(), gates, input,
                    in_k, T(1), cell.weight_ih[1], in_k);
            B::gemm(Transpose::yes, Transpose::no, gates, Hidden, tokens_, T(1), d_hidden_gates_.data(), gates,
                    cache + 4 * Hidden, cache_width, T(1), cell.weight_hh[1], Hidden);
            B::accumulate_column_sums(tokens_, gates, d_input_gates_.data(), gates, cell.bias_ih[1]);
            B::accumulate_column_sums(tokens_, gates, d_hidden_gates_.data(), gates, cell.bias_hh[1]);
            if (d_input)
                B::gemm(Transpose::no, Transpose::no, tokens_, in_k, gates, T(1), d_input_gates_.data(), gates,
                        cell.weight_ih[0], in_k, d == 0 ? T(0) : T(1), d_input, in_k);
        }
    }

    std::array<Cell, Layers * directions> cells_{};
    std::size_t capacity_ = 0;
    // Workspace, sized by reserve().
    Buffer<T, B> packed_input_;                                  // [tokens, In]
    std::array<Buffer<T, B>, Layers> layer_outputs_;             // [tokens, D·H] per layer
    std::array<Buffer<T, B>, Layers * directions> caches_;       // [tokens, 5H] per cell
    Buffer<T, B> input_projection_;                              // [tokens, 3H]
    Buffer<T, B> hidden_projection_;                             // [capacity, 3H]
    Buffer<T, B> d_input_gates_, d_hidden_gates_;                // [tokens, 3H]
    Buffer<T, B> d_carry_;                                       // [capacity, H]
    Buffer<T, B> recurrence_workspace_;                          // the backend's, for W_hh
    std::array<Buffer<T, B>, 2> d_packed_;                       // [tokens, max(In, D·H)]
    Buffer<std::int32_t, B> pack_index_, unpack_index_, final_index_;
    std::vector<std::int32_t> host_pack_index_, host_unpack_index_, host_final_index_;
    std::vector<std::size_t> rank_, lengths_;
    // The plan of the last forward.
    std::array<std::size_t, max_time + 1> offsets_{};
    std::array<std::size_t, max_time> running_{};
    std::array<Step, max_time> schedule_{};                      // one direction's steps, in order
    std::array<PackedWeight<T, B, gates, in_features>, directions> packed_ih_first_;
    std::array<PackedWeight<T, B, gates, out_features>, (Layers - 1) * directions> packed_ih_stacked_;
    std::array<PackedWeight<T, B, gates, Hidden>, Layers * directions> packed_hh_;
    bool use_packed_ = false;
    std::size_t batch_ = 0, steps_ = 0, tokens_ = 0;
    bool planned_ = false;
};

// The spec: GRU<In, Hidden> (one forward layer), GRU<In, Hidden, Direction::bidirectional>,
// GRU<In, Hidden, Direction::forward, 2> (stacked).
template <std::size_t In, std::size_t Hidden, Direction Dir = Direction::forward, std::size_t Layers = 1>
struct GRU {
    static_assert(In > 0 && Hidden > 0 && Layers > 0, "strata::GRU: sizes must be positive");
    using expected_input = LastExtent<In>;
    template <class InputShape>
    static constexpr bool accepts = InputShape::rank == 2 && InputShape::last == In;
    template <class T, class Backend, class InputShape>
    using bind = GRULayer<T, Backend, InputShape, Hidden, Dir, Layers>;
};

}  // namespace strata
