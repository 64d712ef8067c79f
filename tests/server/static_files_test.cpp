#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "gateway/management_api.hpp"
#include "transport/static_files.hpp"

using namespace chatd::server;
namespace fs = std::filesystem;

namespace {

struct site
{
    fs::path base;
    fs::path root;

    site()
    {
        std::random_device rd;
        base = fs::temp_directory_path() / ("chatd-static-" + std::to_string(rd()));
        root = base / "www";
        fs::create_directories(root / "sub");
        std::ofstream(root / "index.html") << "<h1>hi</h1>";
        std::ofstream(root / "app.js") << "1";
        std::ofstream(root / "sub" / "index.html") << "sub";
        std::ofstream(base / "secret.txt") << "secret";
        fs::create_symlink(base / "secret.txt", root / "escape.txt");
    }

    ~site() { fs::remove_all(base); }

    int status(std::string const& target)
    {
        auto r = resolve_static(root, target);
        return std::holds_alternative<int>(r) ? std::get<int>(r) : 200;
    }
};

} // namespace

TEST_CASE("static files: serving and index.html")
{
    site s;
    CHECK(s.status("/") == 200);
    CHECK(s.status("/index.html") == 200);
    CHECK(s.status("/app.js?v=3") == 200);
    CHECK(s.status("/sub/") == 200);
    CHECK(s.status("/missing.css") == 404);
    auto f = load_static(s.root, "/");
    CHECK(f.status == 200);
    CHECK(f.body == "<h1>hi</h1>");
    CHECK(f.content_type == "text/html; charset=utf-8");
}

TEST_CASE("static files: hostile paths never leave the root")
{
    site s;
    for (auto t : {"/../secret.txt",
                   "/%2e%2e/secret.txt",
                   "/%2E%2E%2Fsecret.txt",
                   "/sub/../../secret.txt",
                   "/..%5csecret.txt",
                   "/%00",
                   "/a/%2e/b",
                   "relative",
                   "/%zz"}) {
        CAPTURE(t);
        CHECK(s.status(t) == 400);
    }
    CHECK(s.status("/escape.txt") == 404); // a symlink out of the root
    CHECK(load_static(s.root, "/../secret.txt").body.find("secret") == std::string::npos);
}

TEST_CASE("static files: content types")
{
    CHECK(mime_type("a.html") == "text/html; charset=utf-8");
    CHECK(mime_type("a.js") == "text/javascript; charset=utf-8");
    CHECK(mime_type("a.css") == "text/css; charset=utf-8");
    CHECK(mime_type("a.svg") == "image/svg+xml");
    CHECK(mime_type("a.png") == "image/png");
    CHECK(mime_type("a.json") == "application/json");
    CHECK(mime_type("noext") == "application/octet-stream");
}

TEST_CASE("management API: which targets it owns")
{
    CHECK(is_management_target("/dev/@connections/abc%3D"));
    CHECK(is_management_target("/dev/%40connections/abc"));
    CHECK(is_management_target("/@connections/abc"));
    CHECK_FALSE(is_management_target("/dev"));
    CHECK_FALSE(is_management_target("/index.html?x=/@connections"));
}

TEST_CASE("static files: HTTP dates both ways")
{
    CHECK(format_http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777);
    CHECK(format_http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
    CHECK(parse_http_date(format_http_date(1795000000)) == 1795000000);
    for (auto bad : {"",
                     "Sunday, 06-Nov-94 08:49:37 GMT",
                     "Sun Nov  6 08:49:37 1994",
                     "Sun, 06 Foo 1994 08:49:37 GMT",
                     "Sun, 32 Nov 1994 08:49:37 GMT",
                     "Sun, 06 Nov 1994 25:49:37 GMT",
                     "Sun, 06 Nov 1994 08:49:37 UTC"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_http_date(bad));
    }
}

TEST_CASE("static files: If-None-Match matching")
{
    CHECK(etag_matches("\"a-1\"", "\"a-1\""));
    CHECK(etag_matches("W/\"a-1\"", "\"a-1\""));
    CHECK(etag_matches("\"x\", \"a-1\"", "\"a-1\""));
    CHECK(etag_matches("*", "\"a-1\""));
    CHECK_FALSE(etag_matches("\"a-2\"", "\"a-1\""));
    CHECK_FALSE(etag_matches("", "\"a-1\""));
    CHECK_FALSE(etag_matches(" , ", "\"a-1\""));
}

TEST_CASE("static files: validators and 304")
{
    site s;
    auto f = load_static(s.root, "/app.js");
    REQUIRE(f.status == 200);
    CHECK(!f.etag.empty());
    CHECK(parse_http_date(f.last_modified));
    auto again = load_static(s.root, "/app.js", conditional{f.etag, {}});
    CHECK(again.status == 304);
    CHECK(again.body.empty());
    CHECK(load_static(s.root, "/app.js", conditional{"\"zz\"", {}}).status == 200);
    CHECK(load_static(s.root, "/app.js", conditional{{}, f.last_modified}).status == 304);
    CHECK(load_static(s.root, "/app.js", conditional{{}, "Thu, 01 Jan 1970 00:00:00 GMT"}).status ==
          200);
    CHECK(load_static(s.root, "/missing", conditional{"*", {}}).status == 404);
}
