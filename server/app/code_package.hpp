#pragma once

#include <filesystem>

namespace chatd::server {

/// Unpack a Lambda deployment package (.zip) into `dir`, which is created: file modes kept
/// (bootstrap stays executable), and no entry may land outside `dir` (absolute paths, "..",
/// links out). Throws std::runtime_error naming the package and what is wrong with it.
/// Blocking: call at start-up, before chatd serves.
void unpack_zip(std::filesystem::path const& zip, std::filesystem::path const& dir);

} // namespace chatd::server
