// strata/core/shape.hpp — compile-time per-sample shapes.
//
// Shape<Dims...> is the shape of ONE sample (a text of T_max tokens with 128 features is
// Shape<T_max, 128>); the batch dimension is a runtime value carried by tensors and the
// Context, bounded by a capacity fixed when a model is built. Storage is row-major and
// contiguous: a batch of samples of Shape<A, B> is a [batch, A, B] array.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <type_traits>

namespace strata {

template <std::size_t... Dims>
struct Shape {
    static_assert(sizeof...(Dims) >= 1, "strata::Shape needs at least one dimension");
    static_assert(((Dims > 0) && ...), "strata::Shape: every dimension must be positive");

    static constexpr std::size_t rank = sizeof...(Dims);
    static constexpr std::size_t size = (Dims * ...);
    static constexpr std::array<std::size_t, rank> dims{Dims...};
    // The innermost (feature) extent, and the number of rows of that extent per sample.
    static constexpr std::size_t last = dims[rank - 1];
    static constexpr std::size_t rows = size / last;

    static std::string to_string() {
        std::string text = "[";
        for (std::size_t i = 0; i < rank; ++i) {
            if (i) text += ", ";
            text += std::to_string(dims[i]);
        }
        return text + "]";
    }
};

template <class T>
struct is_shape : std::false_type {};
template <std::size_t... Dims>
struct is_shape<Shape<Dims...>> : std::true_type {};
template <class T>
concept ShapeType = is_shape<T>::value;

// Shape<Dims..., Last> with its last extent replaced: used by layers that map features.
template <class S, std::size_t NewLast>
struct replace_last;
template <std::size_t NewLast, std::size_t D0>
struct replace_last<Shape<D0>, NewLast> {
    using type = Shape<NewLast>;
};
template <std::size_t NewLast, std::size_t D0, std::size_t D1>
struct replace_last<Shape<D0, D1>, NewLast> {
    using type = Shape<D0, NewLast>;
};
template <std::size_t NewLast, std::size_t D0, std::size_t D1, std::size_t D2>
struct replace_last<Shape<D0, D1, D2>, NewLast> {
    using type = Shape<D0, D1, NewLast>;
};
template <class S, std::size_t NewLast>
using replace_last_t = typename replace_last<S, NewLast>::type;

}  // namespace strata
