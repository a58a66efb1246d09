// strata/core/packed_weight.hpp — a layer's weight matrix kept packed for inference.
//
// A layer multiplies its input by Wᵀ (W [N×K], PyTorch's [out, in]). The backend's GEMM
// repacks W into its kernel's panel layout on every product; while the weights stay the
// same (inference) that work can be done once. PackedWeight holds that packed copy:
//
//   pack(W)              packs W now (allocates the buffer on first use);
//   drop()               forgets the packed copy (the weights are about to change);
//   multiply(use, ...)   C = A·Wᵀ, from the packed copy when `use` and there is one, from W
//                        otherwise. Both give the same values.
//
// Who packs must drop whenever the weights may change: Sequential packs every layer's
// weights before its first inference forward (a Context with training = false) and drops
// them on every non-const access to the parameters (parameters(), for_each_parameter,
// reset_parameters, layer<I>(), parameters_changed()). Layers used on their own never pack.
#pragma once

#include <cstddef>

#include "strata/backend/cpu/gemm.hpp"  // strata::Transpose
#include "strata/core/tensor.hpp"

namespace strata {

template <class T, class B, std::size_t N, std::size_t K>
class PackedWeight {
public:
    // W [N×K] with leading dimension ldw (≥ K).
    void pack(const T* W, std::size_t ldw = K) {
        if (buffer_.size() == 0) buffer_ = Buffer<T, B>(B::template packed_right_size<T>(K, N));
        B::pack_right_transposed(K, N, W, ldw, buffer_.data());
        packed_ = true;
    }
    void drop() { packed_ = false; }
    bool packed() const { return packed_; }
    const T* data() const { return packed_ ? buffer_.data() : nullptr; }

    // C[M×N] = A·Wᵀ (A [M×K], lda ≥ K; W [N×K], ldw ≥ K; beta 0).
    void multiply(bool use_packed, std::size_t M, const T* A, std::size_t lda, const T* W, std::size_t ldw, T* C,
                  std::size_t ldc) const {
        if (use_packed && packed_) B::gemm_packed(M, N, K, A, lda, buffer_.data(), T(0), C, ldc);
        else B::gemm(Transpose::no, Transpose::yes, M, N, K, T(1), A, lda, W, ldw, T(0), C, ldc);
    }

private:
    Buffer<T, B> buffer_;
    bool packed_ = false;
};

}  // namespace strata
