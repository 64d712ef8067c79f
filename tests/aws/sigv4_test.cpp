// Signature Version 4 against published and independently computed vectors, and URL parsing.
#include <chatd/aws/http_client.hpp>
#include <chatd/aws/sigv4.hpp>

#include <doctest/doctest.h>

using namespace chatd::aws;

namespace {

std::chrono::system_clock::time_point at(std::time_t t)
{
    return std::chrono::system_clock::from_time_t(t);
}

} // namespace

TEST_CASE("sigv4: the IAM user guide's example request")
{
    // GET /?Action=ListUsers&Version=2010-05-08 at 2015-08-30T12:36:00Z, us-east-1, iam.
    credentials keys{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
    header_list headers = {{"Host", "iam.amazonaws.com"},
                           {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                           {"X-Amz-Date", "20150830T123600Z"}};
    auto sig = compute_signature(
        {"GET", "/?Action=ListUsers&Version=2010-05-08", headers, "", "us-east-1", "iam"},
        keys,
        at(1440938160));
    CHECK(sha256_hex(sig.canonical_request) ==
          "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
    CHECK(sig.value == "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
    CHECK(sig.authorization ==
          "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
          "SignedHeaders=content-type;host;x-amz-date, "
          "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

TEST_CASE("sigv4: @connections signs the wire path encoded once more (botocore's answer)")
{
    credentials keys{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
    header_list headers = {{"Host", "127.0.0.1:8080"},
                           {"Content-Type", "application/octet-stream"},
                           {"X-Amz-Date", "20250101T000000Z"}};
    auto sig = compute_signature(
        {"POST", "/prod/@connections/abc%3D", headers, "hello", "us-east-1", "execute-api"},
        keys,
        at(1735689600));
    CHECK(sig.canonical_request.starts_with("POST\n/prod/%40connections/abc%253D\n\n"));
    CHECK(sig.signed_headers == "content-type;host;x-amz-date");
    CHECK(sig.value == "49436499c8ad6975049aaafe47d46548a6ca01c2e37755fda7d818e831ef9697");
}

TEST_CASE("sigv4: sign_request adds the date, the session token and Authorization")
{
    credentials keys{"AKID", "secret", "token/with+chars="};
    header_list headers = {{"Host", "example.com"}};
    sign_request("GET", "/", headers, "", "eu-west-1", "execute-api", keys, at(1735689600));
    REQUIRE(headers.size() == 4);
    CHECK(headers[1] == std::pair<std::string, std::string>{"X-Amz-Date", "20250101T000000Z"});
    CHECK(headers[2].first == "X-Amz-Security-Token");
    CHECK(headers[3].second.find("SignedHeaders=host;x-amz-date;x-amz-security-token,") !=
          std::string::npos);
}

TEST_CASE("sigv4: uri_encode keeps only the unreserved set")
{
    CHECK(uri_encode("aZ09-_.~", false) == "aZ09-_.~");
    CHECK(uri_encode("a b+c=/@%", false) == "a%20b%2Bc%3D%2F%40%25");
    CHECK(uri_encode("/x/@y", true) == "/x/%40y");
    CHECK(uri_encode("\xC3\xA9", false) == "%C3%A9");
}

TEST_CASE("url: parse and Host header")
{
    auto u = url::parse("https://abc.execute-api.us-east-1.amazonaws.com/prod/");
    REQUIRE(u);
    CHECK(u->tls);
    CHECK(u->port == "443");
    CHECK(u->base_path == "/prod");
    CHECK(u->host_header() == "abc.execute-api.us-east-1.amazonaws.com");
    auto local = url::parse("http://127.0.0.1:8080/dev");
    REQUIRE(local);
    CHECK(local->host_header() == "127.0.0.1:8080");
    auto v6 = url::parse("http://[::1]:9000");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->host_header() == "[::1]:9000");
    CHECK_FALSE(url::parse("ftp://x"));
    CHECK_FALSE(url::parse("http://"));
    CHECK_FALSE(url::parse("http://x:port"));
}
