#include "app/code_package.hpp"

#include <memory>
#include <stdexcept>
#include <string>

#include <archive.h>
#include <archive_entry.h>

namespace chatd::server {
namespace {

struct reader_deleter
{
    void operator()(archive* a) const { archive_read_free(a); }
};

struct writer_deleter
{
    void operator()(archive* a) const { archive_write_free(a); }
};

/// A relative path with no ".." component: it names something under the directory.
bool stays_inside(std::string const& name)
{
    std::filesystem::path p(name);
    if (name.empty() || p.is_absolute())
        return false;
    for (auto const& part : p)
        if (part == "..")
            return false;
    return true;
}

} // namespace

void unpack_zip(std::filesystem::path const& zip, std::filesystem::path const& dir)
{
    auto fail = [&](std::string const& what) {
        throw std::runtime_error("cannot unpack " + zip.string() + ": " + what);
    };
    std::unique_ptr<archive, reader_deleter> in(archive_read_new());
    archive_read_support_format_zip(in.get());
    if (archive_read_open_filename(in.get(), zip.c_str(), 1 << 16) != ARCHIVE_OK)
        fail(archive_error_string(in.get()));
    std::unique_ptr<archive, writer_deleter> out(archive_write_disk_new());
    archive_write_disk_set_options(out.get(),
                                   ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                                       ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                       ARCHIVE_EXTRACT_SECURE_SYMLINKS);
    std::filesystem::create_directories(dir);
    for (;;) {
        archive_entry* entry = nullptr;
        int r = archive_read_next_header(in.get(), &entry);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK)
            fail(archive_error_string(in.get()));
        std::string name = archive_entry_pathname(entry);
        if (!stays_inside(name))
            fail("entry '" + name + "' would land outside the function's directory");
        // Relative names only (checked above), written under `dir`.
        archive_entry_set_pathname(entry, (dir / name).c_str());
        if (archive_write_header(out.get(), entry) != ARCHIVE_OK)
            fail("entry '" + name + "': " + archive_error_string(out.get()));
        void const* block = nullptr;
        std::size_t size = 0;
        la_int64_t offset = 0;
        while ((r = archive_read_data_block(in.get(), &block, &size, &offset)) == ARCHIVE_OK)
            if (archive_write_data_block(out.get(), block, size, offset) != ARCHIVE_OK)
                fail("entry '" + name + "': " + archive_error_string(out.get()));
        if (r != ARCHIVE_EOF)
            fail("entry '" + name + "': " + archive_error_string(in.get()));
        if (archive_write_finish_entry(out.get()) != ARCHIVE_OK)
            fail("entry '" + name + "': " + archive_error_string(out.get()));
    }
}

} // namespace chatd::server
