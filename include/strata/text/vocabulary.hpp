// strata/text/vocabulary.hpp — tokens to ids, as SEED_MODEL.md "Text → token ids" rules 4-5.
//
// A Vocabulary is a list of distinct tokens; a token's id is its index. Id 0 is always
// <pad> and id 1 always <unk>; any token not in the list maps to 1.
//
//   Vocabulary::build(texts, min_count, max_size)
//       counts every token of every (already tokenized) training text, keeps the tokens
//       seen at least min_count times, orders them by count descending then bytewise
//       ascending, keeps the first max_size of them, and puts <pad>, <unk> in front:
//       size() == 2 + min(candidates, max_size). <pad> and <unk> found in the texts are
//       not counted again.
//   Vocabulary::from_tokens(tokens)
//       takes a list in id order (as stored in a checkpoint); throws strata::Error unless
//       tokens[0] is <pad>, tokens[1] is <unk>, no token repeats, and every id fits in
//       std::int32_t.
//   encode(text, max_length)
//       tokenizes (tokenizer.hpp), maps each token to its id and keeps the first max_length
//       ids; a text with no tokens becomes {1}, so the result always has 1..max_length ids.
//       max_length must be at least 1 (strata::Error otherwise).
// A default-constructed Vocabulary holds only <pad> and <unk>. Lookups allocate nothing.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/text/tokenizer.hpp"

namespace strata::text {

class Vocabulary {
public:
    static constexpr std::int32_t kPadId = 0;
    static constexpr std::int32_t kUnkId = 1;

    Vocabulary()
        : Vocabulary(std::vector<std::string>{std::string(kPadToken), std::string(kUnkToken)}) {}

    static Vocabulary build(const std::vector<std::vector<std::string>>& tokenized_training_texts,
                            std::size_t min_count = 2, std::size_t max_size = 20000) {
        TokenMap<std::size_t> counts;
        for (const auto& text : tokenized_training_texts) {
            for (const auto& token : text) {
                const auto found = counts.find(std::string_view(token));
                if (found != counts.end()) {
                    ++found->second;
                } else {
                    counts.emplace(token, 1);
                }
            }
        }

        std::vector<std::pair<std::string_view, std::size_t>> candidates;
        for (const auto& [token, count] : counts) {
            if (count >= min_count && token != kPadToken && token != kUnkToken) {
                candidates.emplace_back(token, count);
            }
        }
        const auto more_frequent_then_bytewise = [](const auto& left, const auto& right) {
            if (left.second != right.second) return left.second > right.second;
            return left.first < right.first;
        };
        const std::size_t kept = std::min(candidates.size(), max_size);
        std::partial_sort(candidates.begin(),
                          candidates.begin() + static_cast<std::ptrdiff_t>(kept), candidates.end(),
                          more_frequent_then_bytewise);

        std::vector<std::string> tokens;
        tokens.reserve(kept + 2);
        tokens.emplace_back(kPadToken);
        tokens.emplace_back(kUnkToken);
        for (std::size_t index = 0; index < kept; ++index) {
            tokens.emplace_back(candidates[index].first);
        }
        return Vocabulary(std::move(tokens));
    }

    static Vocabulary from_tokens(std::vector<std::string> tokens_in_id_order) {
        const auto& tokens = tokens_in_id_order;
        require(tokens.size() >= 2 && tokens[0] == kPadToken && tokens[1] == kUnkToken,
                "vocabulary: the first two tokens must be \"<pad>\" and \"<unk>\" (got " +
                    std::to_string(tokens.size()) + " tokens" +
                    (tokens.empty() ? std::string() : ", starting \"" + tokens[0] + "\"") + ")");
        require(tokens.size() <= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()),
                "vocabulary: " + std::to_string(tokens.size()) + " tokens do not fit int32 ids");
        return Vocabulary(std::move(tokens_in_id_order));
    }

    std::size_t size() const noexcept { return tokens_.size(); }
    const std::vector<std::string>& tokens() const noexcept { return tokens_; }

    std::int32_t id(std::string_view token) const {
        const auto found = ids_.find(token);
        return found == ids_.end() ? kUnkId : found->second;
    }

    const std::string& token(std::int32_t id) const {
        require(id >= 0 && static_cast<std::size_t>(id) < tokens_.size(),
                "vocabulary: token id " + std::to_string(id) + " is out of range [0, " +
                    std::to_string(tokens_.size()) + ")");
        return tokens_[static_cast<std::size_t>(id)];
    }

    std::vector<std::int32_t> encode(std::string_view text, std::size_t max_length) const {
        require_positive(max_length);
        std::vector<std::int32_t> ids;
        for_each_token(text, [&](std::string_view token) {
            if (ids.size() < max_length) ids.push_back(id(token));
        });
        if (ids.empty()) ids.push_back(kUnkId);
        return ids;
    }

    std::vector<std::int32_t> encode(const std::vector<std::string>& tokens,
                                     std::size_t max_length) const {
        require_positive(max_length);
        std::vector<std::int32_t> ids;
        const std::size_t kept = std::min(tokens.size(), max_length);
        ids.reserve(std::max<std::size_t>(kept, 1));
        for (std::size_t index = 0; index < kept; ++index) ids.push_back(id(tokens[index]));
        if (ids.empty()) ids.push_back(kUnkId);
        return ids;
    }

private:
    // Hashes std::string and std::string_view alike, so lookups by view allocate nothing.
    struct TransparentHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view text) const noexcept {
            return std::hash<std::string_view>{}(text);
        }
    };
    template <class Value>
    using TokenMap = std::unordered_map<std::string, Value, TransparentHash, std::equal_to<>>;

    // Takes tokens already known to start with <pad>, <unk>; checks that none repeats.
    explicit Vocabulary(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {
        ids_.reserve(tokens_.size());
        for (std::size_t index = 0; index < tokens_.size(); ++index) {
            const auto [existing, inserted] =
                ids_.emplace(tokens_[index], static_cast<std::int32_t>(index));
            require(inserted, "vocabulary: token \"" + tokens_[index] + "\" appears twice, as id " +
                                  std::to_string(existing->second) + " and id " +
                                  std::to_string(index));
        }
    }

    static void require_positive(std::size_t max_length) {
        require(max_length >= 1,
                "vocabulary: encode needs max_length >= 1 (every sequence "
                "has at least one token)");
    }

    std::vector<std::string> tokens_;
    TokenMap<std::int32_t> ids_;
};

}  // namespace strata::text
