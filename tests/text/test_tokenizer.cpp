// Tests for strata/text/tokenizer.hpp, vocabulary.hpp and utf8.hpp: every line of
// design/tokenizer_cases.jsonl, then one case per rule and settled point of SEED_MODEL.md.
#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "strata/io/json.hpp"
#include "strata/text/tokenizer.hpp"
#include "strata/text/utf8.hpp"
#include "strata/text/vocabulary.hpp"

namespace {

using strata::text::tokenize;
using strata::text::Vocabulary;
using Tokens = std::vector<std::string>;

struct TokenizerCase {
    std::string text;
    Tokens tokens;
};

// One line of tokenizer_cases.jsonl: {"text": "...", "tokens": ["...", ...]}.
TokenizerCase parse_case(std::string_view line) {
    const auto json = strata::io::Json::parse(line);
    TokenizerCase result;
    result.text = json["text"].as_string();
    for (const auto& token : json["tokens"].as_array()) result.tokens.push_back(token.as_string());
    return result;
}

}  // namespace

TEST_CASE("the cases' JSON escapes and surrogate pairs decode to the exact bytes") {
    const auto parsed =
        parse_case(R"({"text": "a\"b\\c\/d\n\t\u00e9\u20AC\ud83d\ude00", "tokens": []})");
    CHECK(parsed.text == "a\"b\\c/d\n\t\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
    CHECK(parsed.tokens.empty());
    CHECK_THROWS(parse_case(R"({"text": "\ud83d", "tokens": []})"));
}

TEST_CASE("tokenize gives exactly the tokens of every line of tokenizer_cases.jsonl") {
    const std::string path = STRATA_SHARED_DIR "/design/tokenizer_cases.jsonl";
    std::ifstream file(path, std::ios::binary);
    REQUIRE_MESSAGE(file.is_open(), "cannot open " << path);
    std::string line;
    std::size_t line_number = 0;
    std::size_t cases = 0;
    while (std::getline(file, line)) {
        ++line_number;
        if (line.empty()) continue;
        TokenizerCase test_case;
        REQUIRE_NOTHROW_MESSAGE(test_case = parse_case(line), path << ":" << line_number);
        INFO(path << ":" << line_number << ": " << line);
        CHECK(tokenize(test_case.text) == test_case.tokens);
        ++cases;
    }
    CHECK(cases == 353);
}

TEST_CASE("rule 1: only ASCII letters are lower-cased") {
    CHECK(tokenize("HeLLo WORLD") == Tokens{"hello", "world"});
    const std::string capital_u_umlaut = "\xC3\x9C";  // Ü: not ASCII, so it stays
    CHECK(tokenize(capital_u_umlaut + "BER") == Tokens{capital_u_umlaut + "ber"});
    CHECK(tokenize("\xC3\xA9t\xC3\xA9") == Tokens{"\xC3\xA9t\xC3\xA9"});
}

TEST_CASE("rule 2: white space is the six ASCII white-space bytes") {
    CHECK(tokenize("a b\tc\nd\ve\ff\rg") == Tokens{"a", "b", "c", "d", "e", "f", "g"});
    CHECK(tokenize("").empty());
    CHECK(tokenize(" \t\n\v\f\r").empty());
    // U+00A0 no-break space and U+3000 ideographic space are bytes >= 0x80: word bytes.
    const std::string no_break_space = "\xC2\xA0";
    const std::string ideographic_space = "\xE3\x80\x80";
    CHECK(tokenize("no" + no_break_space + "break space") ==
          Tokens{"no" + no_break_space + "break", "space"});
    CHECK(tokenize("a" + ideographic_space + "b") == Tokens{"a" + ideographic_space + "b"});
}

TEST_CASE("rule 2: URL chunks become <url>") {
    CHECK(tokenize("see http://x.y/z now") == Tokens{"see", "<url>", "now"});
    CHECK(tokenize("https://a.b/C?d=1&e=2") == Tokens{"<url>"});
    CHECK(tokenize("HTTPS://A.B") == Tokens{"<url>"});
    CHECK(tokenize("www.") == Tokens{"<url>"});
    CHECK(tokenize("WWW.Site.com/!!!") == Tokens{"<url>"});
    CHECK(tokenize("wwwx.com") == Tokens{"wwwx", ".", "com"});
    CHECK(tokenize("http:/x") == Tokens{"http", ":", "/", "x"});
    CHECK(tokenize("(http://x.y)") == Tokens{"(", "http", ":", "/", "x", ".", "y", ")"});
    CHECK(tokenize("ftp://x") == Tokens{"ftp", ":", "/", "x"});
}

TEST_CASE("rule 2: @name becomes <user> and the rest of the chunk is cut on its own") {
    CHECK(tokenize("@bob") == Tokens{"<user>"});
    CHECK(tokenize("@BoB_99") == Tokens{"<user>"});
    CHECK(tokenize("@_") == Tokens{"<user>"});
    CHECK(tokenize("@bob:") == Tokens{"<user>", ":"});
    CHECK(tokenize("@bob's") == Tokens{"<user>", "'", "s"});
    CHECK(tokenize("@bob`s") == Tokens{"<user>", "`", "s"});
    CHECK(tokenize("@bob!!!hi") == Tokens{"<user>", "!", "hi"});
    CHECK(tokenize("@bob@amy") == Tokens{"<user>", "@", "amy"});
    CHECK(tokenize("@bob\xC3\xA9t\xC3\xA9") == Tokens{"<user>", "\xC3\xA9t\xC3\xA9"});
    CHECK(tokenize("@") == Tokens{"@"});
    CHECK(tokenize("@@x") == Tokens{"@", "x"});
    CHECK(tokenize("@ x") == Tokens{"@", "x"});
    CHECK(tokenize("@!x") == Tokens{"@", "!", "x"});
    CHECK(tokenize("a@b.com") == Tokens{"a", "@", "b", ".", "com"});
}

TEST_CASE("rule 3: word characters, and _ is not one") {
    CHECK(tokenize("_under_score") == Tokens{"_", "under", "_", "score"});
    CHECK(tokenize("__init__") == Tokens{"_", "init", "_"});
    CHECK(tokenize("abc123") == Tokens{"abc123"});
    CHECK(tokenize("12:30pm") == Tokens{"12", ":", "30pm"});
    CHECK(tokenize("caf\xC3\xA9!") == Tokens{"caf\xC3\xA9", "!"});
    CHECK(tokenize("#Tag") == Tokens{"#", "tag"});
}

TEST_CASE("rule 3: a run of the same non-word character is one token") {
    CHECK(tokenize("!!!") == Tokens{"!"});
    CHECK(tokenize("...") == Tokens{"."});
    CHECK(tokenize("wow!!!") == Tokens{"wow", "!"});
    CHECK(tokenize("?!?!") == Tokens{"?", "!", "?", "!"});
    CHECK(tokenize("!!! !!!") == Tokens{"!", "!"});
    CHECK(tokenize("a!b!!c") == Tokens{"a", "!", "b", "!", "c"});
}

TEST_CASE("rule 3: apostrophes and backticks between word characters join the word") {
    CHECK(tokenize("it's") == Tokens{"it's"});
    CHECK(tokenize("It`s") == Tokens{"it's"});
    CHECK(tokenize("x'y`z") == Tokens{"x'y'z"});
    CHECK(tokenize("80`S") == Tokens{"80's"});
    CHECK(tokenize("won''t") == Tokens{"won", "'", "t"});
    CHECK(tokenize("it's`") == Tokens{"it's", "`"});
    CHECK(tokenize("ok`") == Tokens{"ok", "`"});
    CHECK(tokenize("`ok") == Tokens{"`", "ok"});
    CHECK(tokenize("``") == Tokens{"`"});
    CHECK(tokenize("''") == Tokens{"'"});
    CHECK(tokenize("'a'b'") == Tokens{"'", "a'b", "'"});
    CHECK(tokenize("a'_b") == Tokens{"a", "'", "_", "b"});
    CHECK(tokenize("a'") == Tokens{"a", "'"});
}

TEST_CASE("the tokenizer takes any bytes") {
    using namespace std::string_literals;
    CHECK(tokenize("a\0b"s) == Tokens{"a", "\0"s, "b"});
    CHECK(tokenize("\0\0\0"s) == Tokens{"\0"s});
    // Invalid UTF-8 bytes are >= 0x80: word bytes, kept as they are.
    CHECK(tokenize("x\xFF\xC0y z") == Tokens{"x\xFF\xC0y", "z"});
    CHECK(tokenize("\x80") == Tokens{"\x80"});

    const std::string long_word(1 << 20, 'A');
    const auto long_word_tokens = tokenize(long_word);
    REQUIRE(long_word_tokens.size() == 1);
    CHECK(long_word_tokens[0] == std::string(1 << 20, 'a'));

    std::string every_byte;
    for (int repeat = 0; repeat < 4096; ++repeat) {
        for (int byte = 0; byte < 256; ++byte) every_byte.push_back(static_cast<char>(byte));
    }
    std::size_t empty_tokens = 0;
    std::size_t token_bytes = 0;
    for (const auto& token : tokenize(every_byte)) {
        if (token.empty()) ++empty_tokens;
        token_bytes += token.size();
    }
    CHECK(empty_tokens == 0);
    CHECK(token_bytes > 0);
}

TEST_CASE("for_each_token visits the tokens tokenize returns") {
    const std::string text = "@Amy: I`m SO happy!!! http://t.co/x :)";
    Tokens visited;
    strata::text::for_each_token(text,
                                 [&](std::string_view token) { visited.emplace_back(token); });
    CHECK(visited == tokenize(text));
    CHECK(visited == Tokens{"<user>", ":", "i'm", "so", "happy", "!", "<url>", ":", ")"});
}

TEST_CASE("Vocabulary::build orders by count, then bytewise, and applies min_count and cap") {
    const std::vector<Tokens> texts = {
        {"b", "a", "c", "c", "d"},
        {"c", "b", "a", "e", "<url>"},
        {"B", "<url>", "\xC3\xA9", "\xC3\xA9", "z", "z"},
    };
    // counts: c 3; a 2, b 2, z 2, <url> 2, é 2; B 1, d 1, e 1
    const auto vocabulary = Vocabulary::build(texts);
    CHECK(vocabulary.tokens() == Tokens{"<pad>", "<unk>", "c", "<url>", "a", "b", "z", "\xC3\xA9"});
    CHECK(vocabulary.size() == 8);
    CHECK(vocabulary.id("<pad>") == 0);
    CHECK(vocabulary.id("<unk>") == 1);
    CHECK(vocabulary.id("c") == 2);
    CHECK(vocabulary.id("\xC3\xA9") == 7);
    CHECK(vocabulary.id("d") == 1);  // seen once
    CHECK(vocabulary.id("B") == 1);
    CHECK(vocabulary.id("never seen") == 1);
    CHECK(vocabulary.token(2) == "c");

    const auto capped = Vocabulary::build(texts, 2, 3);
    CHECK(capped.tokens() == Tokens{"<pad>", "<unk>", "c", "<url>", "a"});
    CHECK(capped.size() == 2 + 3);

    const auto everything = Vocabulary::build(texts, 1);
    CHECK(everything.size() == 2 + 9);
    CHECK(everything.tokens()[2] == "c");
    CHECK(everything.tokens().back() == "e");  // count 1: "B" < "d" < "e"
    CHECK(everything.id("B") == static_cast<std::int32_t>(everything.size()) - 3);

    CHECK(Vocabulary::build(texts, 2, 0).size() == 2);
    CHECK(Vocabulary::build({}).size() == 2);
}

TEST_CASE("Vocabulary::build does not count <pad> and <unk> as learned tokens") {
    const auto vocabulary = Vocabulary::build({{"<pad>", "<unk>", "x"}, {"<pad>", "<unk>", "x"}});
    CHECK(vocabulary.tokens() == Tokens{"<pad>", "<unk>", "x"});
}

TEST_CASE("Vocabulary::encode tokenizes, maps, cuts to max_length, and never returns nothing") {
    const auto vocabulary =
        Vocabulary::from_tokens({"<pad>", "<unk>", "i'm", "happy", "!", "<user>"});
    CHECK(vocabulary.encode("@Bob I`m HAPPY!!! today", 64) ==
          std::vector<std::int32_t>{5, 2, 3, 4, 1});
    CHECK(vocabulary.encode("@Bob I`m HAPPY!!! today", 2) == std::vector<std::int32_t>{5, 2});
    CHECK(vocabulary.encode("", 64) == std::vector<std::int32_t>{1});
    CHECK(vocabulary.encode("   \t\n", 64) == std::vector<std::int32_t>{1});
    CHECK(vocabulary.encode("unknown words", 64) == std::vector<std::int32_t>{1, 1});
    CHECK_THROWS_AS(vocabulary.encode("happy", 0), strata::Error);

    std::string long_text;
    for (int index = 0; index < 100; ++index) long_text += "happy ! ";
    const auto ids = vocabulary.encode(long_text, 64);
    CHECK(ids.size() == 64);
    CHECK(ids.front() == 3);
    CHECK(ids.back() == 4);

    CHECK(vocabulary.encode(Tokens{"happy", "nope", "!"}, 64) ==
          std::vector<std::int32_t>{3, 1, 4});
    CHECK(vocabulary.encode(Tokens{"happy", "nope", "!"}, 1) == std::vector<std::int32_t>{3});
    CHECK(vocabulary.encode(Tokens{}, 64) == std::vector<std::int32_t>{1});
}

TEST_CASE("Vocabulary::from_tokens validates what a checkpoint holds") {
    const auto vocabulary = Vocabulary::from_tokens({"<pad>", "<unk>", "a", "b"});
    CHECK(vocabulary.size() == 4);
    CHECK(vocabulary.id("b") == 3);
    CHECK(vocabulary.token(3) == "b");
    CHECK_THROWS_AS((void)vocabulary.token(4), strata::Error);
    CHECK_THROWS_AS((void)vocabulary.token(-1), strata::Error);
    CHECK_THROWS_WITH_AS((void)vocabulary.token(4), "vocabulary: token id 4 is out of range [0, 4)",
                         strata::Error);

    CHECK_THROWS_AS(Vocabulary::from_tokens({}), strata::Error);
    CHECK_THROWS_AS(Vocabulary::from_tokens({"<pad>"}), strata::Error);
    CHECK_THROWS_AS(Vocabulary::from_tokens({"<unk>", "<pad>", "a"}), strata::Error);
    CHECK_THROWS_AS(Vocabulary::from_tokens({"a", "<pad>", "<unk>"}), strata::Error);
    CHECK_THROWS_WITH_AS(Vocabulary::from_tokens({"<pad>", "<unk>", "a", "b", "a"}),
                         "vocabulary: token \"a\" appears twice, as id 2 and id 4", strata::Error);
    CHECK_THROWS_AS(Vocabulary::from_tokens({"<pad>", "<unk>", "<pad>"}), strata::Error);

    const Vocabulary round_trip =
        Vocabulary::from_tokens(Vocabulary::build({{"x", "x", "y"}}).tokens());
    CHECK(round_trip.tokens() == Tokens{"<pad>", "<unk>", "x"});

    const Vocabulary empty;
    CHECK(empty.tokens() == Tokens{"<pad>", "<unk>"});
    CHECK(empty.id("anything") == 1);
}

TEST_CASE("a Vocabulary copies and moves with its lookup intact") {
    auto original = Vocabulary::from_tokens({"<pad>", "<unk>", "a", "b"});
    const Vocabulary copy = original;
    const Vocabulary moved = std::move(original);
    CHECK(copy.id("b") == 3);
    CHECK(moved.id("a") == 2);
}

TEST_CASE("UTF-8 validation rejects overlongs, surrogates, out-of-range and truncations") {
    using strata::text::first_invalid_utf8;
    using strata::text::is_valid_utf8;
    using strata::text::sanitize_utf8;
    constexpr auto npos = std::string_view::npos;

    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("plain ascii"));
    CHECK(is_valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
    CHECK(is_valid_utf8("\xED\x9F\xBF"));      // U+D7FF
    CHECK(is_valid_utf8("\xEE\x80\x80"));      // U+E000
    CHECK(is_valid_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
    CHECK(is_valid_utf8("\xEF\xBB\xBF"));      // BOM is a valid character
    static_assert(strata::text::is_valid_utf8("\xC2\x80"));

    CHECK(first_invalid_utf8("abc") == npos);
    CHECK(first_invalid_utf8("ab\x80") == 2);            // lone continuation
    CHECK(first_invalid_utf8("\xC0\xAF") == 0);          // overlong '/'
    CHECK(first_invalid_utf8("\xC1\xBF") == 0);          // overlong
    CHECK(first_invalid_utf8("x\xE0\x80\xAF") == 1);     // overlong 3-byte
    CHECK(first_invalid_utf8("\xF0\x80\x80\xAF") == 0);  // overlong 4-byte
    CHECK(first_invalid_utf8("\xED\xA0\x80") == 0);      // U+D800
    CHECK(first_invalid_utf8("\xED\xBF\xBF") == 0);      // U+DFFF
    CHECK(first_invalid_utf8("\xF4\x90\x80\x80") == 0);  // U+110000
    CHECK(first_invalid_utf8("\xF5\x80\x80\x80") == 0);
    CHECK(first_invalid_utf8("\xFF") == 0);
    CHECK(first_invalid_utf8("ok\xC3") == 2);  // truncated at the end
    CHECK(first_invalid_utf8("ok\xE2\x82") == 2);
    CHECK(first_invalid_utf8("\xE2\x82x") == 0);  // truncated before ASCII

    CHECK(sanitize_utf8("caf\xC3\xA9") == "caf\xC3\xA9");
    const std::string replacement = "\xEF\xBF\xBD";  // U+FFFD
    CHECK(sanitize_utf8("a\xFF" + std::string("b")) == "a" + replacement + "b");
    // Maximal subparts: E2 82 is one ill-formed sequence, then x.
    CHECK(sanitize_utf8("\xE2\x82x") == replacement + "x");
    // A surrogate's bytes: ED is an ill-formed prefix alone, then two lone continuations.
    CHECK(sanitize_utf8("\xED\xA0\x80") == replacement + replacement + replacement);
    CHECK(sanitize_utf8("\xC3") == replacement);
    CHECK(sanitize_utf8("\xF0\x9F\x98") == replacement);
    CHECK(sanitize_utf8("\xC0\xAF") == replacement + replacement);
    CHECK(is_valid_utf8(sanitize_utf8("\xF0\x9F\x98 \xFF\xFE ok \xE0\x80")));
}
