#pragma once

#include <string>
#include <utility>
#include <vector>

#include "gateway/api_definition.hpp"
#include "integrations/lambda_function.hpp"
#include "ops/config.hpp"

namespace chatd::server {

/// What `chatd --template` runs: the template's WebSocket API as routes, and its functions.
struct template_app
{
    api_definition api;               ///< routes to "lambda:<name>" or an http:// URL
    std::string stage;                ///< the stage served: --stage if given, else the template's
    core::field_list stage_variables; ///< that stage's StageVariables (event.stageVariables)
    std::string api_id;               ///< the API's id, as Ref gives it (requestContext.apiId)
    std::vector<lambda_config> functions;
    std::string tables_json; ///< CreateTable inputs of the template's tables ("[]": none)
    std::vector<std::pair<std::string, std::string>> ttl; ///< (table, TTL attribute)
    std::string node;                                     ///< node on PATH, when something needs it
    std::vector<std::string> notes; ///< what to say once at start (resources not emulated, ...)
    std::string unpacked; ///< where .zip packages were unpacked (removed at stop); empty: none
};

/// Read, evaluate and check `cfg.template_file` with the parameter overrides and region of
/// `cfg`. Throws startup_error (one line naming the file and what is wrong) when it cannot run.
template_app load_template_app(config const& cfg);

} // namespace chatd::server
