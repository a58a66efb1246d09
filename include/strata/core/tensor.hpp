// strata/core/tensor.hpp — owning buffers and batch views, templated on scalar, shape and
// backend.
//
// Buffer<T, Backend>     owns `capacity` scalars in the backend's memory (RAII, move-only).
// TensorView<T, S, B>    a pointer to `batch` contiguous, row-major samples of Shape S in
//                        backend B's memory. T may be const. Views never own.
// Tensor<T, S, B>        owns room for `capacity` samples of Shape S; view(batch) gives the
//                        first `batch` of them. Sized once: using a tensor never allocates.
//
// Memory lives where its backend computes; moving data between backends is an explicit
// copy (Backend::copy_to_host / copy_from_host).
#pragma once

#include <cassert>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "strata/core/error.hpp"
#include "strata/core/shape.hpp"

namespace strata {

template <class T, class Backend>
class Buffer {
public:
    Buffer() = default;
    explicit Buffer(std::size_t count) : data_(Backend::template allocate<T>(count)), count_(count) {
        Backend::fill(data_, count_, T{});
    }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    Buffer(Buffer&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), count_(std::exchange(other.count_, 0)) {}
    Buffer& operator=(Buffer&& other) noexcept {
        if (this != &other) {
            release();
            data_ = std::exchange(other.data_, nullptr);
            count_ = std::exchange(other.count_, 0);
        }
        return *this;
    }
    ~Buffer() { release(); }

    T* data() { return data_; }
    const T* data() const { return data_; }
    std::size_t size() const { return count_; }

private:
    void release() {
        if (data_) Backend::deallocate(data_, count_);
        data_ = nullptr;
        count_ = 0;
    }
    T* data_ = nullptr;
    std::size_t count_ = 0;
};

template <class T, ShapeType S, class Backend>
struct TensorView {
    using Scalar = T;
    using ShapeT = S;
    using BackendT = Backend;
    static constexpr std::size_t sample_size = S::size;

    T* data = nullptr;
    std::size_t batch = 0;

    std::size_t size() const { return batch * S::size; }
    // Rows of the innermost extent over the whole batch (batch * S::rows).
    std::size_t rows() const { return batch * S::rows; }
    T* sample(std::size_t b) const {
        assert(b < batch);
        return data + b * S::size;
    }
    bool empty() const { return data == nullptr; }

    operator TensorView<const T, S, Backend>() const
        requires(!std::is_const_v<T>)
    {
        return {data, batch};
    }
};

template <class T, ShapeType S, class Backend>
class Tensor {
public:
    using Scalar = T;
    using ShapeT = S;
    using View = TensorView<T, S, Backend>;
    using ConstView = TensorView<const T, S, Backend>;

    Tensor() = default;
    explicit Tensor(std::size_t batch_capacity)
        : buffer_(batch_capacity * S::size), capacity_(batch_capacity) {}

    std::size_t capacity() const { return capacity_; }
    T* data() { return buffer_.data(); }
    const T* data() const { return buffer_.data(); }

    View view(std::size_t batch) {
        require(batch <= capacity_, "strata::Tensor: batch ", batch, " exceeds the capacity ", capacity_);
        return {buffer_.data(), batch};
    }
    ConstView view(std::size_t batch) const {
        require(batch <= capacity_, "strata::Tensor: batch ", batch, " exceeds the capacity ", capacity_);
        return {buffer_.data(), batch};
    }

private:
    Buffer<T, Backend> buffer_;
    std::size_t capacity_ = 0;
};

}  // namespace strata
