// strata/train/batches.hpp — shuffled mini-batches of variable-length sequences.
//
// SequenceBatches walks a set of encoded texts (EncodedTexts: ids padded to T_max and valid
// lengths) in batches of at most `batch_size`, gathering each batch's ids, lengths and labels
// into buffers it owns (sized once). shuffle(rng) draws a new order from the caller's
// seeded Rng (Fisher-Yates); with bucket_size > 0 the shuffled order is then sorted by
// length within consecutive buckets of that many texts, so a batch's texts have similar
// lengths and work follows the real tokens, while which texts share a batch stays random.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/core/rng.hpp"
#include "strata/text/dataset.hpp"

namespace strata {

class SequenceBatches {
public:
    SequenceBatches(const text::EncodedTexts& texts, std::span<const std::int32_t> labels, std::size_t batch_size)
        : texts_(texts), labels_(labels), batch_size_(batch_size), order_(texts.size()) {
        require(batch_size >= 1, "strata::SequenceBatches: batch size must be at least 1");
        require(labels.empty() || labels.size() == texts.size(), "strata::SequenceBatches: ", labels.size(),
                " labels for ", texts.size(), " texts");
        std::iota(order_.begin(), order_.end(), std::size_t{0});
        ids_.resize(batch_size * texts.max_length);
        lengths_.resize(batch_size);
        batch_labels_.resize(batch_size);
    }

    void shuffle(Rng& rng, std::size_t bucket_size = 0) {
        rng.shuffle(order_);
        if (bucket_size > 1)
            for (std::size_t start = 0; start < order_.size(); start += bucket_size) {
                const auto begin = order_.begin() + static_cast<std::ptrdiff_t>(start);
                const auto end = order_.begin() + static_cast<std::ptrdiff_t>(std::min(order_.size(), start + bucket_size));
                std::stable_sort(begin, end, [&](std::size_t a, std::size_t b) {
                    return texts_.lengths[a] > texts_.lengths[b];
                });
            }
    }

    std::size_t batch_count() const { return (order_.size() + batch_size_ - 1) / batch_size_; }
    std::size_t size() const { return order_.size(); }

    // Gathers batch `index` into the owned buffers; returns its size.
    std::size_t gather(std::size_t index) {
        const std::size_t start = index * batch_size_;
        const std::size_t count = std::min(batch_size_, order_.size() - start);
        const std::size_t width = texts_.max_length;
        for (std::size_t b = 0; b < count; ++b) {
            const std::size_t text = order_[start + b];
            std::copy_n(texts_.row(text), width, ids_.data() + b * width);
            lengths_[b] = texts_.lengths[text];
            batch_labels_[b] = labels_.empty() ? 0 : labels_[text];
        }
        current_ = count;
        return count;
    }

    const std::int32_t* ids() const { return ids_.data(); }
    std::span<const std::int32_t> lengths() const { return {lengths_.data(), current_}; }
    std::span<const std::int32_t> labels() const { return {batch_labels_.data(), current_}; }
    // Position in the data set of the b-th text of the current batch.
    std::size_t text_index(std::size_t batch_index, std::size_t b) const { return order_[batch_index * batch_size_ + b]; }

private:
    const text::EncodedTexts& texts_;
    std::span<const std::int32_t> labels_;
    std::size_t batch_size_;
    std::vector<std::size_t> order_;
    std::vector<std::int32_t> ids_, lengths_, batch_labels_;
    std::size_t current_ = 0;
};

}  // namespace strata
