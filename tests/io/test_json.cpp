// Tests for strata/io/json.hpp.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "strata/io/json.hpp"

using strata::io::Json;
using strata::io::json_escape;
using strata::io::JsonParseError;

namespace {

// Parses text expecting failure; returns the error so tests can check offset and reason.
JsonParseError parse_error(std::string_view text) {
    try {
        Json::parse(text);
    } catch (const JsonParseError& error) {
        return error;
    }
    FAIL("expected a parse error for: " << std::string(text));
    return JsonParseError(0, "");
}

void check_fails_at(std::string_view text, std::size_t offset, std::string_view reason_word) {
    CAPTURE(text);
    const JsonParseError error = parse_error(text);
    CHECK(error.offset() == offset);
    CHECK(std::string(error.what()).find("at byte " + std::to_string(offset)) != std::string::npos);
    CHECK(error.reason().find(reason_word) != std::string::npos);
}

}  // namespace

TEST_CASE("json: scalars parse to the right kinds") {
    CHECK(Json::parse("null").is_null());
    CHECK(Json::parse(" true ").as_bool() == true);
    CHECK(Json::parse("false").as_bool() == false);
    CHECK(Json::parse("\"hi\"").as_string() == "hi");

    const Json integer = Json::parse("-42");
    CHECK(integer.is_number());
    CHECK(integer.is_integer());
    CHECK(integer.as_int() == -42);
    CHECK(integer.as_number() == -42.0);

    const Json fraction = Json::parse("2.5e-1");
    CHECK(fraction.is_number());
    CHECK_FALSE(fraction.is_integer());
    CHECK(fraction.as_number() == 0.25);
    CHECK_THROWS_AS(fraction.as_int(), strata::Error);

    CHECK(Json::parse("9223372036854775807").as_int() == std::numeric_limits<std::int64_t>::max());
    CHECK(Json::parse("-9223372036854775808").as_int() == std::numeric_limits<std::int64_t>::min());
    const Json too_big = Json::parse("9223372036854775808");  // kept as a double
    CHECK_FALSE(too_big.is_integer());
    CHECK(too_big.as_number() == 9223372036854775808.0);
}

TEST_CASE("json: objects keep insertion order and support lookup") {
    const Json value = Json::parse(R"({"b": 1, "a": [true, null, "x"], "c": {"d": 2.5}})");
    REQUIRE(value.is_object());
    REQUIRE(value.size() == 3);
    CHECK(value.as_object()[0].key == "b");
    CHECK(value.as_object()[1].key == "a");
    CHECK(value.as_object()[2].key == "c");
    CHECK(value["a"].as_array().size() == 3);
    CHECK(value["a"].as_array()[2].as_string() == "x");
    CHECK(value["c"]["d"].as_number() == 2.5);
    CHECK(value.contains("b"));
    CHECK_FALSE(value.contains("z"));
    CHECK(value.find("z") == nullptr);
    CHECK(value.dump() == R"({"b":1,"a":[true,null,"x"],"c":{"d":2.5}})");
}

TEST_CASE("json: accessor errors name the kind or the key") {
    const Json value = Json::parse(R"({"name": "x"})");
    CHECK_THROWS_WITH_AS(value["missing"], doctest::Contains("\"missing\""), strata::Error);
    CHECK_THROWS_WITH_AS(value["name"].as_number(),
                         doctest::Contains("is a string, expected a number"), strata::Error);
    CHECK_THROWS_WITH_AS(Json(3).as_object(), doctest::Contains("expected an object"),
                         strata::Error);
    CHECK_THROWS_WITH_AS(Json(3).contains("k"), doctest::Contains("expected an object"),
                         strata::Error);
    CHECK_THROWS_AS(Json(true).size(), strata::Error);
}

TEST_CASE("json: builders and round trip") {
    Json list = Json::array();
    list.push_back(1).push_back(2.5).push_back("three").push_back(Json()).push_back(false);
    Json value = Json::object();
    value.set("list", list)
        .set("count", std::size_t{7})
        .set("negative", std::int64_t{-5})
        .set("unsigned", 3u)
        .set("view", std::string_view("sv"))
        .set("string", std::string("s"))
        .set("empty_object", Json::object())
        .set("empty_array", Json::array());
    value.set("count", 8);  // replaces in place
    CHECK(value.size() == 8);
    CHECK(value.as_object()[1].key == "count");
    CHECK(value["count"].as_int() == 8);

    const std::string text = value.dump();
    CHECK(text == R"({"list":[1,2.5,"three",null,false],"count":8,"negative":-5,"unsigned":3,)"
                  R"("view":"sv","string":"s","empty_object":{},"empty_array":[]})");
    CHECK(Json::parse(text) == value);
    CHECK(Json::parse(text).dump() == text);

    CHECK_THROWS_AS(Json{std::numeric_limits<std::uint64_t>::max()}, strata::Error);
    CHECK_THROWS_AS(Json{std::nan("")}, strata::Error);
    CHECK_THROWS_AS(Json{std::numeric_limits<double>::infinity()}, strata::Error);
    Json number(1);
    CHECK_THROWS_AS(number.push_back(2), strata::Error);
    CHECK_THROWS_AS(number.set("k", 2), strata::Error);
}

TEST_CASE("json: numbers dump in the shortest form that round-trips") {
    CHECK(Json(0.1).dump() == "0.1");
    CHECK(Json(1e21).dump() == "1e+21");
    CHECK(Json(3.0).dump() == "3.0");  // stays a double when read back
    CHECK(Json(-0.0).dump() == "-0.0");
    CHECK(Json(1e16).dump() == "1e+16");
    CHECK_FALSE(Json::parse(Json(3.0).dump()).is_integer());
    CHECK(std::signbit(Json::parse(Json(-0.0).dump()).as_number()));
    CHECK(Json(std::int64_t{-9007199254740993}).dump() == "-9007199254740993");
    for (const double number : {0.1, 1.0 / 3.0, 2.0 / 3.0, 1e-300, 5e-324, 1.7976931348623157e308,
                                -123456.789012345678, 0.30000000000000004, 16777217.0}) {
        CAPTURE(number);
        const std::string text = Json(number).dump();
        CHECK(Json::parse(text) == Json(number));
    }
    // %.9g would lose this one; the shortest round-trip form does not.
    CHECK(Json::parse(Json(0.123456789012345).dump()).as_number() == 0.123456789012345);
}

TEST_CASE("json: string escapes") {
    CHECK(Json::parse(R"("a\"b\\c\/d\b\f\n\r\t")").as_string() == "a\"b\\c/d\b\f\n\r\t");
    CHECK(json_escape("a\"b\\c\b\f\n\r\t") == R"("a\"b\\c\b\f\n\r\t")");
    CHECK(json_escape(std::string_view("\x01\x1f\x7f", 3)) == "\"\\u0001\\u001f\x7f\"");
    CHECK(json_escape(std::string_view("nul\0byte", 8)) == R"("nul\u0000byte")");
    CHECK(json_escape("/") == "\"/\"");
    const std::string every_ascii = [] {
        std::string text;
        for (int byte = 0; byte < 0x80; ++byte) text.push_back(static_cast<char>(byte));
        return text;
    }();
    CHECK(Json::parse(json_escape(every_ascii)).as_string() == every_ascii);
}

TEST_CASE("json: unicode escapes and surrogate pairs decode to UTF-8") {
    CHECK(Json::parse(R"("\u0041")").as_string() == "A");
    CHECK(Json::parse(R"("\u00e9")").as_string() == "\xC3\xA9");                // é
    CHECK(Json::parse(R"("\u20AC")").as_string() == "\xE2\x82\xAC");            // €
    CHECK(Json::parse(R"("\ud83d\ude00")").as_string() == "\xF0\x9F\x98\x80");  // 😀
    CHECK(Json::parse(R"("\uDBFF\uDFFF")").as_string() == "\xF4\x8F\xBF\xBF");  // U+10FFFF
    CHECK(Json::parse(R"("\u0000")").as_string() == std::string(1, '\0'));
    // Raw UTF-8 passes through, and dump writes it as is.
    const std::string raw =
        "gr\xC3\xBC\xC3\x9F"
        "e \xE2\x9C\x93 \xF0\x9F\x98\x80";
    CHECK(Json::parse("\"" + raw + "\"").as_string() == raw);
    CHECK(json_escape(raw) == "\"" + raw + "\"");

    check_fails_at(R"("\ud83d")", 1, "surrogate");
    check_fails_at(R"("\ud83dx")", 1, "surrogate");
    check_fails_at(R"("\ud83d\u0041")", 1, "surrogate");
    check_fails_at(R"("ab\ude00")", 3, "surrogate");
    check_fails_at(R"("\u12G4")", 5, "hex digit");
    check_fails_at(R"("\u12)", 3, "end of input");
}

TEST_CASE("json: invalid input is rejected with the byte offset") {
    check_fails_at("", 0, "end of input");
    check_fails_at("   ", 3, "end of input");
    check_fails_at("[1,2,]", 5, "expected a value");
    check_fails_at(R"({"a":1,})", 7, "object key");
    check_fails_at(R"({"a" 1})", 5, "':'");
    check_fails_at("[1 2]", 3, "',' or ']'");
    check_fails_at(R"({"a":1 "b":2})", 7, "',' or '}'");
    check_fails_at(R"("abc)", 4, "unterminated string");
    check_fails_at(R"(["abc\)", 5, "unterminated string");
    check_fails_at(R"("a\qb")", 2, "invalid escape");
    check_fails_at(R"("a\'")", 2, "invalid escape");
    check_fails_at("\"tab\there\"", 4, "control character");
    check_fails_at("\"new\nline\"", 4, "control character");
    check_fails_at("01", 0, "leading zero");
    check_fails_at("-01", 0, "leading zero");
    check_fails_at("+1", 0, "expected a value");
    check_fails_at("1.", 2, "decimal point");
    check_fails_at(".5", 0, "expected a value");
    check_fails_at("1e", 2, "exponent");
    check_fails_at("1e+", 3, "exponent");
    check_fails_at("-", 1, "digit");
    check_fails_at("1e400", 0, "range");
    check_fails_at("NaN", 0, "expected a value");
    check_fails_at("Infinity", 0, "expected a value");
    check_fails_at("tru", 0, "literal");
    check_fails_at("nul", 0, "literal");
    check_fails_at("truex", 4, "after the JSON value");
    check_fails_at("{} {}", 3, "after the JSON value");
    check_fails_at("[1] // comment", 4, "after the JSON value");
    check_fails_at("{'a': 1}", 1, "object key");
    check_fails_at("[1,\x0c 2]", 3, "expected a value");  // form feed is not JSON whitespace
}

TEST_CASE("json: duplicate object keys are rejected") {
    check_fails_at(R"({"a":1,"a":2})", 7, "duplicate");
    check_fails_at(R"({"x":{"a":1,"b":2,"a":3}})", 18, "duplicate");
    // Keys are compared after unescaping.
    check_fails_at(R"({"a":1,"\u0061":2})", 7, "duplicate");
    CHECK(Json::parse(R"([{"a":1},{"a":2}])").size() == 2);  // same key in different objects
}

TEST_CASE("json: nesting depth is limited") {
    const std::size_t limit = Json::max_depth;
    const std::string allowed = std::string(limit, '[') + std::string(limit, ']');
    CHECK(Json::parse(allowed).is_array());
    const std::string too_deep = std::string(limit + 1, '[') + std::string(limit + 1, ']');
    check_fails_at(too_deep, limit, "nesting");
    // A nesting bomb far beyond the limit fails quickly instead of overflowing the stack.
    const std::string bomb(1'000'000, '[');
    check_fails_at(bomb, limit, "nesting");
    std::string object_bomb;
    for (int level = 0; level < 100'000; ++level) object_bomb += "{\"a\":";
    check_fails_at(object_bomb, 5 * limit, "nesting");
}

TEST_CASE("json: invalid UTF-8 in strings is rejected by parse") {
    check_fails_at("\"\x80\"", 1, "UTF-8");                  // lone continuation byte
    check_fails_at("\"ab\xC3\"", 3, "UTF-8");                // truncated 2-byte sequence
    check_fails_at("\"\xC0\xAF\"", 1, "UTF-8");              // overlong '/'
    check_fails_at("\"\xE0\x80\xAF\"", 1, "UTF-8");          // overlong 3-byte
    check_fails_at("\"\xED\xA0\x80\"", 1, "UTF-8");          // encoded surrogate U+D800
    check_fails_at("\"\xF4\x90\x80\x80\"", 1, "UTF-8");      // above U+10FFFF
    check_fails_at("\"\xF8\x88\x80\x80\x80\"", 1, "UTF-8");  // 5-byte form
    check_fails_at("\"\xFF\"", 1, "UTF-8");
    check_fails_at("\xEF\xBB\xBF{}", 0, "expected a value");  // byte order mark
    CHECK(strata::io::is_valid_utf8("plain \xE2\x82\xAC"));
    CHECK_FALSE(strata::io::is_valid_utf8("\xE2\x82"));
}

TEST_CASE("json: dump replaces invalid UTF-8 with U+FFFD") {
    const std::string replacement = "\xEF\xBF\xBD";
    CHECK(json_escape("a\x80z") == "\"a" + replacement + "z\"");
    CHECK(json_escape("\xC3") == "\"" + replacement + "\"");
    CHECK(json_escape("\xED\xA0\x80") == "\"" + replacement + replacement + replacement + "\"");
    CHECK(json_escape("\xE2\x82\xAC\xE2\x82") ==
          "\"\xE2\x82\xAC" + replacement + replacement + "\"");

    Json value = Json::object();
    value.set("bad\xFFkey", "bad\xC0value");
    const std::string text = value.dump();
    CHECK(strata::io::is_valid_utf8(text));
    const Json reparsed = Json::parse(text);
    CHECK(reparsed.as_object()[0].key == "bad" + replacement + "key");
    CHECK(reparsed.as_object()[0].value.as_string() == "bad" + replacement + "value");
}
