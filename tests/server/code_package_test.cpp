// Unpacking a function's .zip package: modes kept, and a hostile package (an entry with "..",
// an absolute path, a link that points out) refused with the entry named, writing nothing
// outside the function's directory.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "app/code_package.hpp"
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

struct entry
{
    std::string name;
    std::string content;
    int mode;
    std::string link; ///< a symlink to this, when set
};

entry file(std::string name, std::string content, int mode = 0644)
{
    return entry{std::move(name), std::move(content), mode, {}};
}

entry link_to(std::string name, std::string target)
{
    return entry{std::move(name), {}, 0777, std::move(target)};
}

/// The error unpack_zip gives, or "" when it gives none.
std::string unpack_error(fs::path const& zip, fs::path const& dir)
{
    try {
        chatd::server::unpack_zip(zip, dir);
    } catch (std::runtime_error const& e) {
        return e.what();
    }
    return {};
}

fs::path scratch()
{
    auto p = fs::temp_directory_path() / ("chatd-zip-test-" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
}

void write_zip(fs::path const& file, std::vector<entry> const& entries)
{
    archive* a = archive_write_new();
    archive_write_set_format_zip(a);
    REQUIRE(archive_write_open_filename(a, file.c_str()) == ARCHIVE_OK);
    for (auto const& e : entries) {
        archive_entry* ae = archive_entry_new();
        archive_entry_set_pathname(ae, e.name.c_str());
        if (e.link.empty()) {
            archive_entry_set_filetype(ae, AE_IFREG);
            archive_entry_set_perm(ae, e.mode);
            archive_entry_set_size(ae, static_cast<la_int64_t>(e.content.size()));
        } else {
            archive_entry_set_filetype(ae, AE_IFLNK);
            archive_entry_set_perm(ae, 0777);
            archive_entry_set_symlink(ae, e.link.c_str());
        }
        REQUIRE(archive_write_header(a, ae) == ARCHIVE_OK);
        if (e.link.empty())
            archive_write_data(a, e.content.data(), e.content.size());
        archive_entry_free(ae);
    }
    archive_write_close(a);
    archive_write_free(a);
}

} // namespace

TEST_CASE("code package: files and modes come out as packed")
{
    auto dir = scratch();
    write_zip(dir / "fn.zip",
              {file("bootstrap", "#!/bin/sh\n", 0755), file("lib/a.so", "x"), file("x..y", "ok")});
    chatd::server::unpack_zip(dir / "fn.zip", dir / "out");

    struct stat st
    {};

    REQUIRE(::stat((dir / "out/bootstrap").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0755);
    REQUIRE(::stat((dir / "out/lib/a.so").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0644);
    CHECK(fs::exists(dir / "out/x..y")); // ".." inside a name is just a name
    fs::remove_all(dir);
}

TEST_CASE("code package: entries that would land outside are refused, naming the entry")
{
    auto dir = scratch();
    for (std::string bad : {"../evil", "a/../../evil", "/tmp/chatd-zip-evil"}) {
        CAPTURE(bad);
        write_zip(dir / "bad.zip", {file("bootstrap", "ok", 0755), file(bad, "x")});
        CHECK(unpack_error(dir / "bad.zip", dir / "out").find("'" + bad + "' would land outside") !=
              std::string::npos);
        CHECK_FALSE(fs::exists(dir / "evil"));
        CHECK_FALSE(fs::exists("/tmp/chatd-zip-evil"));
        fs::remove_all(dir / "out");
    }
    // A link pointing out, then a file written through it.
    write_zip(dir / "link.zip", {link_to("out", ".."), file("out/evil", "x")});
    CHECK_FALSE(unpack_error(dir / "link.zip", dir / "pkg").empty());
    CHECK_FALSE(fs::exists(dir / "evil"));
    CHECK(unpack_error(dir / "missing.zip", dir / "pkg").find("cannot unpack") !=
          std::string::npos);
    fs::remove_all(dir);
}
